
# Pin names and pids, which clap's completion above cannot know: a pin
# name is every NAME of DIR/<type>ns/NAME under the -d given on the line
# (default /run), for -f and for the NAME word; a pid is a process of
# /proc, for --from-pid and list's --pid.

(( $+functions[_pinns_names] )) ||
_pinns_names() {
    local dir=@@DEFAULT_DIR@@ word i
    for (( i = 1; i < CURRENT; i++ )); do
        word=$words[i]
        case $word in
            (-d|--dir) dir=${(Q)words[i+1]} ;;
            (--dir=*) dir=${(Q)word#--dir=} ;;
            (-d?*) dir=${(Q)word#-d} ;;
        esac
    done
    [[ $dir == '~'* ]] && dir=$HOME${dir#\~}
    local -aU names
    names=( $dir/@@TYPE_DIRS@@/*(N:t) )
    _wanted pins expl 'pin name' compadd -a names
}

(( $+functions[_pinns_pids] )) ||
_pinns_pids() {
    local -a pids
    pids=( /proc/<->(N:t) )
    _wanted pids expl 'process id' compadd -a pids
}

