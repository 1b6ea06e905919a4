# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_pinns_global_optspecs
    string join \n d/dir= f/filename= n/net= i/ipc= u/uts= c/cgroup= U/user= m/mnt= p/pid= t/time= s/sysctl= uid-mapping= gid-mapping= from-pid= loopback monotonic= boottime= json v/verbose h/help V/version
end

function __fish_pinns_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_pinns_global_optspecs) -- $cmd 2>/dev/null
    or argparse -s (__fish_pinns_global_optspecs) -- $cmd[1..-2] 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_pinns_using_subcommand
    set -l cmd (__fish_pinns_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c pinns -n "__fish_pinns_needs_command" -s d -l dir -d 'Pin directory; created (0755) if missing' -r -F
complete -c pinns -n "__fish_pinns_needs_command" -s f -l filename -d 'Pin name: one path component (pins are DIR/<type>ns/NAME)' -x -a '(__pinns_names)'
complete -c pinns -n "__fish_pinns_needs_command" -s n -l net -d 'New network namespace (=host: the one pinns runs in)' -r -f -a "host\t''"
complete -c pinns -n "__fish_pinns_needs_command" -s i -l ipc -d 'New IPC namespace (=host: the one pinns runs in)' -r -f -a "host\t''"
complete -c pinns -n "__fish_pinns_needs_command" -s u -l uts -d 'New UTS namespace (=host: the one pinns runs in)' -r -f -a "host\t''"
complete -c pinns -n "__fish_pinns_needs_command" -s c -l cgroup -d 'New cgroup namespace (=host: the one pinns runs in)' -r -f -a "host\t''"
complete -c pinns -n "__fish_pinns_needs_command" -s U -l user -d 'New user namespace, owning the new others (needs --uid/--gid-mapping)' -r -f -a "host\t''"
complete -c pinns -n "__fish_pinns_needs_command" -s m -l mnt -d 'New mount namespace (pinned in DIR/mntns, an unbindable mount)' -r -f -a "host\t''"
complete -c pinns -n "__fish_pinns_needs_command" -s p -l pid -d 'New PID namespace, pinned before any process is in it' -r -f -a "host\t''"
complete -c pinns -n "__fish_pinns_needs_command" -s t -l time -d 'New time namespace (see --monotonic, --boottime)' -r -f -a "host\t''"
complete -c pinns -n "__fish_pinns_needs_command" -s s -l sysctl -d 'Set a sysctl inside the new namespaces before pinning (repeatable)' -r
complete -c pinns -n "__fish_pinns_needs_command" -l uid-mapping -d 'Uid mapping of the new user namespace, e.g. 0-100000-65536' -r
complete -c pinns -n "__fish_pinns_needs_command" -l gid-mapping -d 'Gid mapping of the new user namespace, e.g. 0-100000-65536' -r
complete -c pinns -n "__fish_pinns_needs_command" -l from-pid -d 'Pin the namespaces of a running process instead of creating new ones' -x -a '(__pinns_pids)'
complete -c pinns -n "__fish_pinns_needs_command" -l monotonic -d 'CLOCK_MONOTONIC offset of the new time namespace, in seconds' -r
complete -c pinns -n "__fish_pinns_needs_command" -l boottime -d 'CLOCK_BOOTTIME offset of the new time namespace, in seconds' -r
complete -c pinns -n "__fish_pinns_needs_command" -l loopback -d 'Bring lo up inside the new network namespace'
complete -c pinns -n "__fish_pinns_needs_command" -l json -d 'On success, print one JSON object: each pin\'s type, path and inode'
complete -c pinns -n "__fish_pinns_needs_command" -s v -l verbose -d 'Print each pin made'
complete -c pinns -n "__fish_pinns_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pinns -n "__fish_pinns_needs_command" -s V -l version -d 'Print version'
complete -c pinns -n "__fish_pinns_needs_command" -f -a "pin" -d 'Create (or take) namespaces and pin them under DIR/<type>ns/NAME (the default)'
complete -c pinns -n "__fish_pinns_needs_command" -f -a "unpin" -d 'Unmount and remove the pins of NAME, or every pin under DIR'
complete -c pinns -n "__fish_pinns_needs_command" -f -a "list" -d 'List every pinned NAME under DIR, its state, and who is inside'
complete -c pinns -n "__fish_pinns_needs_command" -f -a "exec" -d 'Run a command inside NAME\'s pinned namespaces'
complete -c pinns -n "__fish_pinns_needs_command" -f -a "prune" -d 'Remove stale pins: empty files no namespace is mounted on'
complete -c pinns -n "__fish_pinns_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s d -l dir -d 'Pin directory; created (0755) if missing' -r -F
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s f -l filename -d 'Pin name: one path component (pins are DIR/<type>ns/NAME)' -x -a '(__pinns_names)'
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s n -l net -d 'New network namespace (=host: the one pinns runs in)' -r -f -a "host\t''"
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s i -l ipc -d 'New IPC namespace (=host: the one pinns runs in)' -r -f -a "host\t''"
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s u -l uts -d 'New UTS namespace (=host: the one pinns runs in)' -r -f -a "host\t''"
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s c -l cgroup -d 'New cgroup namespace (=host: the one pinns runs in)' -r -f -a "host\t''"
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s U -l user -d 'New user namespace, owning the new others (needs --uid/--gid-mapping)' -r -f -a "host\t''"
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s m -l mnt -d 'New mount namespace (pinned in DIR/mntns, an unbindable mount)' -r -f -a "host\t''"
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s p -l pid -d 'New PID namespace, pinned before any process is in it' -r -f -a "host\t''"
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s t -l time -d 'New time namespace (see --monotonic, --boottime)' -r -f -a "host\t''"
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s s -l sysctl -d 'Set a sysctl inside the new namespaces before pinning (repeatable)' -r
complete -c pinns -n "__fish_pinns_using_subcommand pin" -l uid-mapping -d 'Uid mapping of the new user namespace, e.g. 0-100000-65536' -r
complete -c pinns -n "__fish_pinns_using_subcommand pin" -l gid-mapping -d 'Gid mapping of the new user namespace, e.g. 0-100000-65536' -r
complete -c pinns -n "__fish_pinns_using_subcommand pin" -l from-pid -d 'Pin the namespaces of a running process instead of creating new ones' -x -a '(__pinns_pids)'
complete -c pinns -n "__fish_pinns_using_subcommand pin" -l monotonic -d 'CLOCK_MONOTONIC offset of the new time namespace, in seconds' -r
complete -c pinns -n "__fish_pinns_using_subcommand pin" -l boottime -d 'CLOCK_BOOTTIME offset of the new time namespace, in seconds' -r
complete -c pinns -n "__fish_pinns_using_subcommand pin" -l loopback -d 'Bring lo up inside the new network namespace'
complete -c pinns -n "__fish_pinns_using_subcommand pin" -l json -d 'On success, print one JSON object: each pin\'s type, path and inode'
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s v -l verbose -d 'Print each pin made'
complete -c pinns -n "__fish_pinns_using_subcommand pin" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pinns -n "__fish_pinns_using_subcommand unpin" -s d -l dir -d 'Pin directory' -r -F
complete -c pinns -n "__fish_pinns_using_subcommand unpin" -s f -l filename -d 'Pin name (or give it as NAME)' -x -a '(__pinns_names)'
complete -c pinns -n "__fish_pinns_using_subcommand unpin" -l all -d 'Every pin under DIR, then the mounts pinns made there'
complete -c pinns -n "__fish_pinns_using_subcommand unpin" -s n -l net -d 'Network namespace'
complete -c pinns -n "__fish_pinns_using_subcommand unpin" -s i -l ipc -d 'IPC namespace'
complete -c pinns -n "__fish_pinns_using_subcommand unpin" -s u -l uts -d 'UTS namespace'
complete -c pinns -n "__fish_pinns_using_subcommand unpin" -s c -l cgroup -d 'Cgroup namespace'
complete -c pinns -n "__fish_pinns_using_subcommand unpin" -s U -l user -d 'User namespace'
complete -c pinns -n "__fish_pinns_using_subcommand unpin" -s m -l mnt -d 'Mount namespace'
complete -c pinns -n "__fish_pinns_using_subcommand unpin" -s p -l pid -d 'PID namespace'
complete -c pinns -n "__fish_pinns_using_subcommand unpin" -s t -l time -d 'Time namespace'
complete -c pinns -n "__fish_pinns_using_subcommand unpin" -s v -l verbose -d 'Print each pin removed, or that there was none'
complete -c pinns -n "__fish_pinns_using_subcommand unpin" -s h -l help -d 'Print help'
complete -c pinns -n "__fish_pinns_using_subcommand list" -s d -l dir -d 'Pin directory' -r -F
complete -c pinns -n "__fish_pinns_using_subcommand list" -l pid -d 'PID is a process: show only pins of namespaces it is in (ip netns identify)' -x -a '(__pinns_pids)'
complete -c pinns -n "__fish_pinns_using_subcommand list" -l json -d 'Print JSON instead of a table'
complete -c pinns -n "__fish_pinns_using_subcommand list" -s h -l help -d 'Print help'
complete -c pinns -n "__fish_pinns_using_subcommand exec" -s d -l dir -d 'Pin directory' -r -F
complete -c pinns -n "__fish_pinns_using_subcommand exec" -s f -l filename -d 'Pin name (or give it as NAME); then every word is the command\'s' -x -a '(__pinns_names)'
complete -c pinns -n "__fish_pinns_using_subcommand exec" -s n -l net -d 'Network namespace'
complete -c pinns -n "__fish_pinns_using_subcommand exec" -s i -l ipc -d 'IPC namespace'
complete -c pinns -n "__fish_pinns_using_subcommand exec" -s u -l uts -d 'UTS namespace'
complete -c pinns -n "__fish_pinns_using_subcommand exec" -s c -l cgroup -d 'Cgroup namespace'
complete -c pinns -n "__fish_pinns_using_subcommand exec" -s U -l user -d 'User namespace'
complete -c pinns -n "__fish_pinns_using_subcommand exec" -s m -l mnt -d 'Mount namespace'
complete -c pinns -n "__fish_pinns_using_subcommand exec" -s p -l pid -d 'PID namespace'
complete -c pinns -n "__fish_pinns_using_subcommand exec" -s t -l time -d 'Time namespace'
complete -c pinns -n "__fish_pinns_using_subcommand exec" -l no-netns-mounts -d 'Leave the mounts as they are: no new /sys, no /etc/netns/NAME files'
complete -c pinns -n "__fish_pinns_using_subcommand exec" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pinns -n "__fish_pinns_using_subcommand prune" -s d -l dir -d 'Pin directory' -r -F
complete -c pinns -n "__fish_pinns_using_subcommand prune" -l dry-run -d 'Say what would be removed, and remove nothing'
complete -c pinns -n "__fish_pinns_using_subcommand prune" -l json -d 'Print JSON: what was removed and what was kept, and why'
complete -c pinns -n "__fish_pinns_using_subcommand prune" -s h -l help -d 'Print help'
complete -c pinns -n "__fish_pinns_using_subcommand completions" -s h -l help -d 'Print help'

# Pin names and pids, which clap's completion above cannot know: a pin
# name is every NAME of DIR/<type>ns/NAME under the -d given on the line
# (default /run), for -f and for the NAME word; a pid is a process of
# /proc, for --from-pid and list's --pid.

# The words of the line before the cursor, after `pinns` and its
# subcommand, one a line; the subcommand first (empty for none).
function __pinns_words
    set -l words (commandline -opc)
    set -e words[1]
    if contains -- "$words[1]" 'pin' 'unpin' 'list' 'exec' 'prune' 'completions'
        printf '%s\n' $words
    else
        printf '%s\n' '' $words
    end
end

# Whether an option of SUB takes a value in the next word: "SUB:OPTION".
function __pinns_takes_value
    switch $argv[1]
        case ':-d' ':--dir' ':-f' ':--filename' ':-s' ':--sysctl' ':--uid-mapping' ':--gid-mapping' ':--from-pid' ':--monotonic' ':--boottime' 'pin:-d' 'pin:--dir' 'pin:-f' 'pin:--filename' 'pin:-s' 'pin:--sysctl' 'pin:--uid-mapping' 'pin:--gid-mapping' 'pin:--from-pid' 'pin:--monotonic' 'pin:--boottime' 'unpin:-d' 'unpin:--dir' 'unpin:-f' 'unpin:--filename' 'list:-d' 'list:--dir' 'list:--pid' 'exec:-d' 'exec:--dir' 'exec:-f' 'exec:--filename' 'prune:-d' 'prune:--dir'
            return 0
    end
    return 1
end

function __pinns_dir
    set -l dir /run
    set -l words (__pinns_words)
    set -l next 0
    for word in $words[2..-1]
        if test $next = 1
            set dir $word
            set next 0
            continue
        end
        switch $word
            case -d --dir
                set next 1
            case '--dir=*'
                set dir (string replace -- --dir= '' $word)
            case '-d?*'
                set dir (string sub -s 3 -- $word)
        end
    end
    string replace -r '^~' $HOME -- $dir
end

function __pinns_names
    set -l dir (__pinns_dir)
    set -l names
    for path in $dir/{userns,cgroupns,ipcns,utsns,netns,pidns,timens,mntns}/*
        set -l name (string replace -r '.*/' '' -- $path)
        contains -- $name $names; or set -a names $name
    end
    printf '%s\n' $names
end

function __pinns_pids
    string replace /proc/ '' -- /proc/* | string match -r '^[0-9]+$'
end

# Whether the next word is the NAME word: no name yet (as -f or a word)
# and no `--`.
function __pinns_wants_name
    set -l words (__pinns_words)
    set -l sub $words[1]
    set -l skip 0
    for word in $words[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $word
            case -- -- -f --filename '--filename=*' '-f?*'
                return 1
            case '-?*'
                __pinns_takes_value "$sub:$word"; and set skip 1
            case '*'
                return 1
        end
    end
    return 0
end
complete -c pinns -n "__fish_pinns_using_subcommand pin; and __pinns_wants_name" -f -a '(__pinns_names)'
complete -c pinns -n "__fish_pinns_using_subcommand unpin; and __pinns_wants_name" -f -a '(__pinns_names)'
complete -c pinns -n "__fish_pinns_using_subcommand list; and __pinns_wants_name" -f -a '(__pinns_names)'
complete -c pinns -n "__fish_pinns_using_subcommand exec; and __pinns_wants_name" -f -a '(__pinns_names)'
complete -c pinns -n "__fish_pinns_using_subcommand pin" -f
complete -c pinns -n "__fish_pinns_using_subcommand unpin" -f
complete -c pinns -n "__fish_pinns_using_subcommand list" -f
