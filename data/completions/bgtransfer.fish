# fish completion for bgtransfer(1)
#
# SPDX-License-Identifier: LGPL-2.1-or-later

set -l __bgtransfer_commands download upload list show start pause resume cancel remove \
    set-priority set-cost-policy set-uri group wait monitor help
set -l __bgtransfer_on_ids show wait start pause resume cancel remove set-priority \
    set-cost-policy set-uri

# The app id named on the command line (--app-id), else $BGTRANSFER_APP_ID
function __bgtransfer_app_id
    set -l tokens (commandline -opc)
    set -l app_id $BGTRANSFER_APP_ID
    for i in (seq (count $tokens))
        switch $tokens[$i]
            case '--app-id=*'
                set app_id (string replace -- '--app-id=' '' $tokens[$i])
            case --app-id
                set -l next (math $i + 1)
                if test $next -le (count $tokens)
                    set app_id $tokens[$next]
                end
        end
    end
    echo $app_id
end

# The ids of that application's transfers
function __bgtransfer_ids
    set -l app_id (__bgtransfer_app_id)
    if test -n "$app_id"
        bgtransfer list --ids --app-id=$app_id 2>/dev/null
    else
        bgtransfer list --ids --app-id= 2>/dev/null
    end
end

# The arguments after the command so far, options left out
function __bgtransfer_nargs
    set -l tokens (commandline -opc)
    set -l n 0
    set -l skip 0
    for token in $tokens[3..-1]
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $token
            case --app-id --cost-policy --priority --group --tag --header -H --user -u \
                --proxy-user --checksum --method -X --mirror --limit-rate --connections \
                --if-changed --notify-success --notify-failure --completion-group --part
                set skip 1
            case '-*'
            case '*'
                set n (math $n + 1)
        end
    end
    echo $n
end

function __bgtransfer_nargs_is
    test (__bgtransfer_nargs) -eq $argv[1]
end

complete -c bgtransfer -f

# Commands
set -l none "not __fish_seen_subcommand_from $__bgtransfer_commands"
complete -c bgtransfer -n $none -a download -d 'Download a URI into a file'
complete -c bgtransfer -n $none -a upload -d 'Upload a file or a form'
complete -c bgtransfer -n $none -a list -d 'List the application’s transfers'
complete -c bgtransfer -n $none -a show -d 'Show everything about a transfer'
complete -c bgtransfer -n $none -a start -d 'Start transfers created with --no-start'
complete -c bgtransfer -n $none -a pause -d 'Pause transfers'
complete -c bgtransfer -n $none -a resume -d 'Resume paused transfers'
complete -c bgtransfer -n $none -a cancel -d 'Cancel transfers'
complete -c bgtransfer -n $none -a remove -d 'Forget finished transfers'
complete -c bgtransfer -n $none -a set-priority -d 'Move a transfer in the queue'
complete -c bgtransfer -n $none -a set-cost-policy -d 'Change on which networks a transfer runs'
complete -c bgtransfer -n $none -a set-uri -d 'Give a transfer a new URI'
complete -c bgtransfer -n $none -a group -d 'Make a group parallel or serialized'
complete -c bgtransfer -n $none -a wait -d 'Wait for a transfer to end'
complete -c bgtransfer -n $none -a monitor -d 'Print the changes of the transfers'
complete -c bgtransfer -n $none -a help -d 'Show the help of a command'
complete -c bgtransfer -n $none -l help -d 'Show help options'
complete -c bgtransfer -n $none -l version -d 'Print the version'
complete -c bgtransfer -n '__fish_seen_subcommand_from help' -a "$__bgtransfer_commands"

# Options of every command
set -l any "__fish_seen_subcommand_from $__bgtransfer_commands"
complete -c bgtransfer -n $any -l app-id -x -d 'Act for this application id'
complete -c bgtransfer -n $any -s h -l help -d 'Show help options'

set -l json "__fish_seen_subcommand_from download upload list show wait monitor"
complete -c bgtransfer -n $json -l json -d 'Print JSON'
complete -c bgtransfer -n "__fish_seen_subcommand_from download upload wait" -s q -l quiet -d 'Show no progress'
complete -c bgtransfer -n "__fish_seen_subcommand_from list" -l ids -d 'Print only the ids'

# Creating transfers
set -l create "__fish_seen_subcommand_from download upload"
complete -c bgtransfer -n $create -l cost-policy -x -a 'unrestricted-only default always' -d 'On which networks to run'
complete -c bgtransfer -n $create -l priority -x -a 'low default high' -d 'The place in the queue'
complete -c bgtransfer -n $create -l group -x -d 'Put the transfer in a group'
complete -c bgtransfer -n $create -l tag -x -d 'Attach free text'
complete -c bgtransfer -n $create -s H -l header -x -d 'Send a request header'
complete -c bgtransfer -n $create -s u -l user -x -d 'Server credentials USER[:PASSWORD]'
complete -c bgtransfer -n $create -l proxy-user -x -d 'Proxy credentials USER[:PASSWORD]'
complete -c bgtransfer -n $create -l limit-rate -x -d 'Bytes per second at most (k, M, G)'
complete -c bgtransfer -n $create -l completion-group -x -d 'Join a completion group (object path)'
complete -c bgtransfer -n $create -l notify -d 'Notify when the transfer ends'
complete -c bgtransfer -n $create -l notify-success -x -d 'Notification text on success'
complete -c bgtransfer -n $create -l notify-failure -x -d 'Notification text on failure'
complete -c bgtransfer -n $create -l no-start -d 'Create without starting'
complete -c bgtransfer -n $create -l no-wait -d 'Print the id and return'

set -l download "__fish_seen_subcommand_from download"
complete -c bgtransfer -n $download -l checksum -x -d 'sha256:HEX or sha512:HEX'
complete -c bgtransfer -n $download -l overwrite -d 'Replace an existing file'
complete -c bgtransfer -n $download -l mirror -x -d 'Another URI of the same file'
complete -c bgtransfer -n $download -l connections -x -a '1 2 4 8 16' -d 'Connections at once'
complete -c bgtransfer -n $download -l if-changed -x -a 'restart fail' -d 'When the file changes'
complete -c bgtransfer -n $download -l random-access -d 'Let readers seek'
complete -c bgtransfer -n $download -s X -l method -x -a 'GET POST' -d 'HTTP method'
complete -c bgtransfer -n "$download; and __bgtransfer_nargs_is 1" -F

set -l upload "__fish_seen_subcommand_from upload"
complete -c bgtransfer -n $upload -s X -l method -x -a 'POST PUT' -d 'HTTP method'
complete -c bgtransfer -n $upload -l resumable -d 'Use the tus protocol'
complete -c bgtransfer -n $upload -l tus -d 'Use the tus protocol'
complete -c bgtransfer -n $upload -l part -x -d 'NAME=@FILE or NAME=VALUE'
complete -c bgtransfer -n "$upload; and __bgtransfer_nargs_is 0" -F

# Transfer ids, then the value a command sets
complete -c bgtransfer -n "__fish_seen_subcommand_from start pause resume cancel remove" -a '(__bgtransfer_ids)'
complete -c bgtransfer -n "__fish_seen_subcommand_from show wait set-priority set-cost-policy set-uri; and __bgtransfer_nargs_is 0" -a '(__bgtransfer_ids)'
complete -c bgtransfer -n "__fish_seen_subcommand_from set-priority; and __bgtransfer_nargs_is 1" -a 'low default high'
complete -c bgtransfer -n "__fish_seen_subcommand_from set-cost-policy; and __bgtransfer_nargs_is 1" -a 'unrestricted-only default always'
complete -c bgtransfer -n "__fish_seen_subcommand_from group; and __bgtransfer_nargs_is 1" -a 'parallel serialized'
