_pinns() {
    local i cur prev opts cmd
    COMPREPLY=()
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
    fi
    prev="$3"
    cmd=""
    opts=""

    for i in "${COMP_WORDS[@]:0:COMP_CWORD}"
    do
        case "${cmd},${i}" in
            ",$1")
                cmd="pinns"
                ;;
            pinns,completions)
                cmd="pinns__subcmd__completions"
                ;;
            pinns,exec)
                cmd="pinns__subcmd__exec"
                ;;
            pinns,list)
                cmd="pinns__subcmd__list"
                ;;
            pinns,pin)
                cmd="pinns__subcmd__pin"
                ;;
            pinns,prune)
                cmd="pinns__subcmd__prune"
                ;;
            pinns,unpin)
                cmd="pinns__subcmd__unpin"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        pinns)
            opts="-d -f -n -i -u -c -U -m -p -t -s -v -h -V --dir --filename --net --ipc --uts --cgroup --user --mnt --pid --time --sysctl --uid-mapping --gid-mapping --from-pid --loopback --monotonic --boottime --json --verbose --help --version pin unpin list exec prune completions"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -d)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --filename)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -f)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --net)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                -n)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                --ipc)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                -i)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                --uts)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                -u)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                --cgroup)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                --user)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                -U)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                --mnt)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                -m)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                --pid)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                -p)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                --time)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                -t)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                --sysctl)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -s)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --uid-mapping)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --gid-mapping)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --from-pid)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --monotonic)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --boottime)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        pinns__subcmd__completions)
            opts="-h --help bash elvish fish powershell zsh"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        pinns__subcmd__exec)
            opts="-d -f -n -i -u -c -U -m -p -t -h --dir --filename --net --ipc --uts --cgroup --user --mnt --pid --time --no-netns-mounts --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -d)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --filename)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -f)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        pinns__subcmd__list)
            opts="-d -h --dir --pid --json --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -d)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pid)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        pinns__subcmd__pin)
            opts="-d -f -n -i -u -c -U -m -p -t -s -v -h --dir --filename --net --ipc --uts --cgroup --user --mnt --pid --time --sysctl --uid-mapping --gid-mapping --from-pid --loopback --monotonic --boottime --json --verbose --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -d)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --filename)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -f)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --net)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                -n)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                --ipc)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                -i)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                --uts)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                -u)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                --cgroup)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                -c)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                --user)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                -U)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                --mnt)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                -m)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                --pid)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                -p)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                --time)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                -t)
                    COMPREPLY=($(compgen -W "host" -- "${cur}"))
                    return 0
                    ;;
                --sysctl)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -s)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --uid-mapping)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --gid-mapping)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --from-pid)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --monotonic)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --boottime)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        pinns__subcmd__prune)
            opts="-d -h --dir --dry-run --json --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -d)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        pinns__subcmd__unpin)
            opts="-d -f -n -i -u -c -U -m -p -t -v -h --dir --filename --net --ipc --uts --cgroup --user --mnt --pid --time --verbose --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -d)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --filename)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -f)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
    esac
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _pinns -o nosort -o bashdefault -o default pinns
else
    complete -F _pinns -o bashdefault -o default pinns
fi
