# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_qvirt_global_optspecs
    string join \n c/connect= q/quiet d/debug h/help
end

function __fish_qvirt_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_qvirt_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_qvirt_using_subcommand
    set -l cmd (__fish_qvirt_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c qvirt -n "__fish_qvirt_needs_command" -s c -l connect -d 'Hypervisor connection: qemu:///system or qemu:///session' -r
complete -c qvirt -n "__fish_qvirt_needs_command" -s q -l quiet -d 'Print only errors'
complete -c qvirt -n "__fish_qvirt_needs_command" -s d -l debug -d 'Print every QMP message and external command'
complete -c qvirt -n "__fish_qvirt_needs_command" -s h -l help -d 'Print help'
complete -c qvirt -n "__fish_qvirt_needs_command" -f -a "list" -d 'List guests: name, state, pid, memory, vCPUs, display and console'
complete -c qvirt -n "__fish_qvirt_needs_command" -f -a "start" -d 'Start a defined guest from its saved definition'
complete -c qvirt -n "__fish_qvirt_needs_command" -f -a "shutdown" -d 'Ask the guest to power off (ACPI), and force it after a timeout'
complete -c qvirt -n "__fish_qvirt_needs_command" -f -a "reboot" -d 'Ask the guest to reboot (ACPI reset through the guest)'
complete -c qvirt -n "__fish_qvirt_needs_command" -f -a "reset" -d 'Reset the guest at once, as the reset button does'
complete -c qvirt -n "__fish_qvirt_needs_command" -f -a "destroy" -d 'Stop the guest at once'
complete -c qvirt -n "__fish_qvirt_needs_command" -f -a "suspend" -d 'Pause the guest\'s vCPUs'
complete -c qvirt -n "__fish_qvirt_needs_command" -f -a "resume" -d 'Resume a paused guest'
complete -c qvirt -n "__fish_qvirt_needs_command" -f -a "console" -d 'Attach to the guest\'s serial console; Ctrl+] leaves it'
complete -c qvirt -n "__fish_qvirt_needs_command" -f -a "undefine" -d 'Forget a guest that is off'
complete -c qvirt -n "__fish_qvirt_needs_command" -f -a "dumpargs" -d 'Print the guest\'s QEMU command line, shell-quoted'
complete -c qvirt -n "__fish_qvirt_needs_command" -f -a "qmp" -d 'Send one QMP command and print the reply as JSON'
complete -c qvirt -n "__fish_qvirt_needs_command" -f -a "domdisplay" -d 'Print the guest\'s VNC or SPICE address'
complete -c qvirt -n "__fish_qvirt_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c qvirt -n "__fish_qvirt_using_subcommand list" -s c -l connect -d 'Hypervisor connection: qemu:///system or qemu:///session' -r
complete -c qvirt -n "__fish_qvirt_using_subcommand list" -l all -d 'Also list guests that are shut off'
complete -c qvirt -n "__fish_qvirt_using_subcommand list" -l json -d 'Print JSON, one object per guest, for scripts'
complete -c qvirt -n "__fish_qvirt_using_subcommand list" -s q -l quiet -d 'Print only errors'
complete -c qvirt -n "__fish_qvirt_using_subcommand list" -s d -l debug -d 'Print every QMP message and external command'
complete -c qvirt -n "__fish_qvirt_using_subcommand list" -s h -l help -d 'Print help'
complete -c qvirt -n "__fish_qvirt_using_subcommand start" -s c -l connect -d 'Hypervisor connection: qemu:///system or qemu:///session' -r
complete -c qvirt -n "__fish_qvirt_using_subcommand start" -l console -d 'Attach to the serial console once it runs'
complete -c qvirt -n "__fish_qvirt_using_subcommand start" -s q -l quiet -d 'Print only errors'
complete -c qvirt -n "__fish_qvirt_using_subcommand start" -s d -l debug -d 'Print every QMP message and external command'
complete -c qvirt -n "__fish_qvirt_using_subcommand start" -s h -l help -d 'Print help'
complete -c qvirt -n "__fish_qvirt_using_subcommand shutdown" -l timeout -d 'Seconds to wait for the guest before forcing it off' -r
complete -c qvirt -n "__fish_qvirt_using_subcommand shutdown" -s c -l connect -d 'Hypervisor connection: qemu:///system or qemu:///session' -r
complete -c qvirt -n "__fish_qvirt_using_subcommand shutdown" -s q -l quiet -d 'Print only errors'
complete -c qvirt -n "__fish_qvirt_using_subcommand shutdown" -s d -l debug -d 'Print every QMP message and external command'
complete -c qvirt -n "__fish_qvirt_using_subcommand shutdown" -s h -l help -d 'Print help'
complete -c qvirt -n "__fish_qvirt_using_subcommand reboot" -s c -l connect -d 'Hypervisor connection: qemu:///system or qemu:///session' -r
complete -c qvirt -n "__fish_qvirt_using_subcommand reboot" -s q -l quiet -d 'Print only errors'
complete -c qvirt -n "__fish_qvirt_using_subcommand reboot" -s d -l debug -d 'Print every QMP message and external command'
complete -c qvirt -n "__fish_qvirt_using_subcommand reboot" -s h -l help -d 'Print help'
complete -c qvirt -n "__fish_qvirt_using_subcommand reset" -s c -l connect -d 'Hypervisor connection: qemu:///system or qemu:///session' -r
complete -c qvirt -n "__fish_qvirt_using_subcommand reset" -s q -l quiet -d 'Print only errors'
complete -c qvirt -n "__fish_qvirt_using_subcommand reset" -s d -l debug -d 'Print every QMP message and external command'
complete -c qvirt -n "__fish_qvirt_using_subcommand reset" -s h -l help -d 'Print help'
complete -c qvirt -n "__fish_qvirt_using_subcommand destroy" -s c -l connect -d 'Hypervisor connection: qemu:///system or qemu:///session' -r
complete -c qvirt -n "__fish_qvirt_using_subcommand destroy" -s q -l quiet -d 'Print only errors'
complete -c qvirt -n "__fish_qvirt_using_subcommand destroy" -s d -l debug -d 'Print every QMP message and external command'
complete -c qvirt -n "__fish_qvirt_using_subcommand destroy" -s h -l help -d 'Print help'
complete -c qvirt -n "__fish_qvirt_using_subcommand suspend" -s c -l connect -d 'Hypervisor connection: qemu:///system or qemu:///session' -r
complete -c qvirt -n "__fish_qvirt_using_subcommand suspend" -s q -l quiet -d 'Print only errors'
complete -c qvirt -n "__fish_qvirt_using_subcommand suspend" -s d -l debug -d 'Print every QMP message and external command'
complete -c qvirt -n "__fish_qvirt_using_subcommand suspend" -s h -l help -d 'Print help'
complete -c qvirt -n "__fish_qvirt_using_subcommand resume" -s c -l connect -d 'Hypervisor connection: qemu:///system or qemu:///session' -r
complete -c qvirt -n "__fish_qvirt_using_subcommand resume" -s q -l quiet -d 'Print only errors'
complete -c qvirt -n "__fish_qvirt_using_subcommand resume" -s d -l debug -d 'Print every QMP message and external command'
complete -c qvirt -n "__fish_qvirt_using_subcommand resume" -s h -l help -d 'Print help'
complete -c qvirt -n "__fish_qvirt_using_subcommand console" -s c -l connect -d 'Hypervisor connection: qemu:///system or qemu:///session' -r
complete -c qvirt -n "__fish_qvirt_using_subcommand console" -s q -l quiet -d 'Print only errors'
complete -c qvirt -n "__fish_qvirt_using_subcommand console" -s d -l debug -d 'Print every QMP message and external command'
complete -c qvirt -n "__fish_qvirt_using_subcommand console" -s h -l help -d 'Print help'
complete -c qvirt -n "__fish_qvirt_using_subcommand undefine" -s c -l connect -d 'Hypervisor connection: qemu:///system or qemu:///session' -r
complete -c qvirt -n "__fish_qvirt_using_subcommand undefine" -l remove-all-storage -d 'Also delete the disk images its definition lists'
complete -c qvirt -n "__fish_qvirt_using_subcommand undefine" -s q -l quiet -d 'Print only errors'
complete -c qvirt -n "__fish_qvirt_using_subcommand undefine" -s d -l debug -d 'Print every QMP message and external command'
complete -c qvirt -n "__fish_qvirt_using_subcommand undefine" -s h -l help -d 'Print help'
complete -c qvirt -n "__fish_qvirt_using_subcommand dumpargs" -s c -l connect -d 'Hypervisor connection: qemu:///system or qemu:///session' -r
complete -c qvirt -n "__fish_qvirt_using_subcommand dumpargs" -s q -l quiet -d 'Print only errors'
complete -c qvirt -n "__fish_qvirt_using_subcommand dumpargs" -s d -l debug -d 'Print every QMP message and external command'
complete -c qvirt -n "__fish_qvirt_using_subcommand dumpargs" -s h -l help -d 'Print help'
complete -c qvirt -n "__fish_qvirt_using_subcommand qmp" -s c -l connect -d 'Hypervisor connection: qemu:///system or qemu:///session' -r
complete -c qvirt -n "__fish_qvirt_using_subcommand qmp" -s q -l quiet -d 'Print only errors'
complete -c qvirt -n "__fish_qvirt_using_subcommand qmp" -s d -l debug -d 'Print every QMP message and external command'
complete -c qvirt -n "__fish_qvirt_using_subcommand qmp" -s h -l help -d 'Print help'
complete -c qvirt -n "__fish_qvirt_using_subcommand domdisplay" -s c -l connect -d 'Hypervisor connection: qemu:///system or qemu:///session' -r
complete -c qvirt -n "__fish_qvirt_using_subcommand domdisplay" -s q -l quiet -d 'Print only errors'
complete -c qvirt -n "__fish_qvirt_using_subcommand domdisplay" -s d -l debug -d 'Print every QMP message and external command'
complete -c qvirt -n "__fish_qvirt_using_subcommand domdisplay" -s h -l help -d 'Print help'
complete -c qvirt -n "__fish_qvirt_using_subcommand help; and not __fish_seen_subcommand_from list start shutdown reboot reset destroy suspend resume console undefine dumpargs qmp domdisplay help" -f -a "list" -d 'List guests: name, state, pid, memory, vCPUs, display and console'
complete -c qvirt -n "__fish_qvirt_using_subcommand help; and not __fish_seen_subcommand_from list start shutdown reboot reset destroy suspend resume console undefine dumpargs qmp domdisplay help" -f -a "start" -d 'Start a defined guest from its saved definition'
complete -c qvirt -n "__fish_qvirt_using_subcommand help; and not __fish_seen_subcommand_from list start shutdown reboot reset destroy suspend resume console undefine dumpargs qmp domdisplay help" -f -a "shutdown" -d 'Ask the guest to power off (ACPI), and force it after a timeout'
complete -c qvirt -n "__fish_qvirt_using_subcommand help; and not __fish_seen_subcommand_from list start shutdown reboot reset destroy suspend resume console undefine dumpargs qmp domdisplay help" -f -a "reboot" -d 'Ask the guest to reboot (ACPI reset through the guest)'
complete -c qvirt -n "__fish_qvirt_using_subcommand help; and not __fish_seen_subcommand_from list start shutdown reboot reset destroy suspend resume console undefine dumpargs qmp domdisplay help" -f -a "reset" -d 'Reset the guest at once, as the reset button does'
complete -c qvirt -n "__fish_qvirt_using_subcommand help; and not __fish_seen_subcommand_from list start shutdown reboot reset destroy suspend resume console undefine dumpargs qmp domdisplay help" -f -a "destroy" -d 'Stop the guest at once'
complete -c qvirt -n "__fish_qvirt_using_subcommand help; and not __fish_seen_subcommand_from list start shutdown reboot reset destroy suspend resume console undefine dumpargs qmp domdisplay help" -f -a "suspend" -d 'Pause the guest\'s vCPUs'
complete -c qvirt -n "__fish_qvirt_using_subcommand help; and not __fish_seen_subcommand_from list start shutdown reboot reset destroy suspend resume console undefine dumpargs qmp domdisplay help" -f -a "resume" -d 'Resume a paused guest'
complete -c qvirt -n "__fish_qvirt_using_subcommand help; and not __fish_seen_subcommand_from list start shutdown reboot reset destroy suspend resume console undefine dumpargs qmp domdisplay help" -f -a "console" -d 'Attach to the guest\'s serial console; Ctrl+] leaves it'
complete -c qvirt -n "__fish_qvirt_using_subcommand help; and not __fish_seen_subcommand_from list start shutdown reboot reset destroy suspend resume console undefine dumpargs qmp domdisplay help" -f -a "undefine" -d 'Forget a guest that is off'
complete -c qvirt -n "__fish_qvirt_using_subcommand help; and not __fish_seen_subcommand_from list start shutdown reboot reset destroy suspend resume console undefine dumpargs qmp domdisplay help" -f -a "dumpargs" -d 'Print the guest\'s QEMU command line, shell-quoted'
complete -c qvirt -n "__fish_qvirt_using_subcommand help; and not __fish_seen_subcommand_from list start shutdown reboot reset destroy suspend resume console undefine dumpargs qmp domdisplay help" -f -a "qmp" -d 'Send one QMP command and print the reply as JSON'
complete -c qvirt -n "__fish_qvirt_using_subcommand help; and not __fish_seen_subcommand_from list start shutdown reboot reset destroy suspend resume console undefine dumpargs qmp domdisplay help" -f -a "domdisplay" -d 'Print the guest\'s VNC or SPICE address'
complete -c qvirt -n "__fish_qvirt_using_subcommand help; and not __fish_seen_subcommand_from list start shutdown reboot reset destroy suspend resume console undefine dumpargs qmp domdisplay help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
