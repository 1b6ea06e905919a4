
# Pin names and pids, which clap's completion above cannot know: a pin
# name is every NAME of DIR/<type>ns/NAME under the -d given on the line
# (default /run), for -f and for the NAME word; a pid is a process of
# /proc, for --from-pid and list's --pid.

# The words of the line before the cursor, after `pinns` and its
# subcommand, one a line; the subcommand first (empty for none).
function __pinns_words
    set -l words (commandline -opc)
    set -e words[1]
    if contains -- "$words[1]" @@SUBCOMMANDS@@
        printf '%s\n' $words
    else
        printf '%s\n' '' $words
    end
end

# Whether an option of SUB takes a value in the next word: "SUB:OPTION".
function __pinns_takes_value
    switch $argv[1]
        case @@TAKES_VALUE@@
            return 0
    end
    return 1
end

function __pinns_dir
    set -l dir @@DEFAULT_DIR@@
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
    for path in $dir/@@TYPE_DIRS@@/*
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
