
# Pin names and pids, which clap's completion above cannot know: a pin
# name is every NAME of DIR/<type>ns/NAME under the -d given on the line
# (default /run), for -f and for the NAME word; a pid is a process of
# /proc, for --from-pid and list's --pid. Everything else is clap's.

# The words of the line before the cursor, after `pinns`, whose options
# take a value in the next word when it is not attached: "SUB:OPTION".
_pinns_takes_value() {
    case "$1" in
        @@TAKES_VALUE@@) return 0 ;;
    esac
    return 1
}

# Reads the line before the cursor: sets _pinns_sub (the subcommand, or
# empty), _pinns_dir, _pinns_named (1 once -f or a NAME word is given),
# _pinns_words (how many words are not options) and _pinns_rest (1 after --).
_pinns_scan() {
    local i=1 word
    _pinns_sub= _pinns_dir=@@DEFAULT_DIR@@ _pinns_named=0 _pinns_words=0 _pinns_rest=0
    case "${COMP_WORDS[1]}" in
        @@SUBCOMMANDS@@) _pinns_sub=${COMP_WORDS[1]}; i=2 ;;
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
    for path in "$_pinns_dir"/@@TYPE_DIRS@@/*; do
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
        @@NAME_OPTIONS@@)
            (( _pinns_rest )) || { _pinns_names "$cur"; return 0; } ;;
        @@PID_OPTIONS@@)
            (( _pinns_rest )) || { _pinns_pids "$cur"; return 0; } ;;
    esac
    if [[ "$cur" != -* ]]; then
        case "$_pinns_sub" in
            @@NAME_WORD@@)
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
