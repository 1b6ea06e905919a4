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
            opts="-d -f -n -i -u -c -U -m -p -t -v -h --dir --filename --all --net --ipc --uts --cgroup --user --mnt --pid --time --verbose --help"
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

# Pin names and pids, which clap's completion above cannot know: a pin
# name is every NAME of DIR/<type>ns/NAME under the -d given on the line
# (default /run), for -f and for the NAME word; a pid is a process of
# /proc, for --from-pid and list's --pid. Everything else is clap's.

# The words of the line before the cursor, after `pinns`, whose options
# take a value in the next word when it is not attached: "SUB:OPTION".
_pinns_takes_value() {
    case "$1" in
        ':-d'|':--dir'|':-f'|':--filename'|':-s'|':--sysctl'|':--uid-mapping'|':--gid-mapping'|':--from-pid'|':--monotonic'|':--boottime'|'pin:-d'|'pin:--dir'|'pin:-f'|'pin:--filename'|'pin:-s'|'pin:--sysctl'|'pin:--uid-mapping'|'pin:--gid-mapping'|'pin:--from-pid'|'pin:--monotonic'|'pin:--boottime'|'unpin:-d'|'unpin:--dir'|'unpin:-f'|'unpin:--filename'|'list:-d'|'list:--dir'|'list:--pid'|'exec:-d'|'exec:--dir'|'exec:-f'|'exec:--filename'|'prune:-d'|'prune:--dir') return 0 ;;
    esac
    return 1
}

# Reads the line before the cursor: sets _pinns_sub (the subcommand, or
# empty), _pinns_dir, _pinns_named (1 once -f or a NAME word is given),
# _pinns_words (how many words are not options) and _pinns_rest (1 after --).
_pinns_scan() {
    local i=1 word
    _pinns_sub= _pinns_dir=/run _pinns_named=0 _pinns_words=0 _pinns_rest=0
    case "${COMP_WORDS[1]}" in
        'pin'|'unpin'|'list'|'exec'|'prune'|'completions') _pinns_sub=${COMP_WORDS[1]}; i=2 ;;
    esac
    for (( ; i < COMP_CWORD; i++ )); do
        word=${COMP_WORDS[i]}
        if (( _pinns_rest )); then
            (( _pinns_words++ ))
            continue
        fi
        case "$word" in
            --) _pinns_rest=1; continue ;;
            -d|--dir) _pinns_dir=${COMP_WORDS[i+1]} ;;
            -d?*) _pinns_dir=${word#-d} ;;
            -f|--filename|-f?*) _pinns_named=1 ;;
        esac
        # `--dir=X` reaches here as `--dir`, `=`, `X` (COMP_WORDBREAKS).
        if [[ "${COMP_WORDS[i+1]}" == = ]]; then
            [[ "$word" == --dir ]] && _pinns_dir=${COMP_WORDS[i+2]}
            [[ "$word" == --filename ]] && _pinns_named=1
            (( i += 2 ))
        elif _pinns_takes_value "$_pinns_sub:$word"; then
            (( i++ ))
        elif [[ "$word" != -* || "$word" == - ]]; then
            (( _pinns_words++ ))
        fi
    done
    _pinns_dir=${_pinns_dir/#\~/$HOME}
}

# Every pin name under $_pinns_dir, once each.
_pinns_names() {
    local path names=()
    for path in "$_pinns_dir"/{userns,cgroupns,ipcns,utsns,netns,pidns,timens,mntns}/*; do
        [[ -e "$path" || -L "$path" ]] && names+=("${path##*/}")
    done
    (( ${#names[@]} )) || return 0
    local IFS=$'\n'
    COMPREPLY=($(compgen -W "$(printf '%s\n' "${names[@]}" | sort -u)" -- "$1"))
}

_pinns_pids() {
    local path pids=()
    for path in /proc/[0-9]*; do
        pids+=("${path#/proc/}")
    done
    COMPREPLY=($(compgen -W "${pids[*]}" -- "$1"))
}

_pinns_complete() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    # `--filename=NA`: the option is the word before the `=`.
    if [[ "$prev" == = && $COMP_CWORD -ge 2 ]]; then
        prev=${COMP_WORDS[COMP_CWORD-2]}
    fi
    _pinns_scan
    case "$_pinns_sub:$prev" in
        ':-f'|':--filename'|'pin:-f'|'pin:--filename'|'unpin:-f'|'unpin:--filename'|'exec:-f'|'exec:--filename')
            (( _pinns_rest )) || { _pinns_names "$cur"; return 0; } ;;
        ':--from-pid'|'pin:--from-pid'|'list:--pid')
            (( _pinns_rest )) || { _pinns_pids "$cur"; return 0; } ;;
    esac
    if [[ "$cur" != -* ]]; then
        case "$_pinns_sub" in
            'pin'|'unpin'|'list'|'exec')
                if (( !_pinns_named && !_pinns_words && !_pinns_rest )); then
                    _pinns_names "$cur"
                    return 0
                fi ;;
        esac
    fi
    # exec's command: its first word is a command, the rest are files.
    if [[ "$_pinns_sub" == exec ]] && (( _pinns_named || _pinns_words )); then
        if [[ "$cur" != -* ]] || (( _pinns_rest )); then
            if (( _pinns_words - !_pinns_named == 0 )); then
                COMPREPLY=($(compgen -c -- "$cur"))
            else
                COMPREPLY=($(compgen -f -- "$cur"))
            fi
            return 0
        fi
    fi
    _pinns "$@"
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _pinns_complete -o nosort -o bashdefault -o default pinns
else
    complete -F _pinns_complete -o bashdefault -o default pinns
fi
