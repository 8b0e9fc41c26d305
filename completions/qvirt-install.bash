_qvirt__install() {
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
                cmd="qvirt__install"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        qvirt__install)
            opts="-n -l -x -w -v -p -q -d -h --connect --name --memory --vcpus --cpu --metadata --xml --cdrom --location --pxe --import --extra-args --initrd-inject --unattended --install --reinstall --cloud-init --boot --idmap --os-variant --osinfo --disk --network --graphics --controller --input --serial --parallel --channel --console --hostdev --filesystem --sound --audio --watchdog --video --smartcard --redirdev --memballoon --tpm --rng --panic --shmem --memdev --vsock --iommu --pstore --iothreads --seclabel --keywrap --cputune --numatune --memtune --blkiotune --memorybacking --features --clock --pm --events --resource --sysinfo --qemu-commandline --launchSecurity --hvm --paravirt --container --virt-type --arch --machine --autostart --transient --destroy-on-exit --wait --noautoconsole --autoconsole --noreboot --print-xml --print-qemu --dry-run --check --quiet --debug --version --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --connect)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --name)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -n)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --memory)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --vcpus)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cpu)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --metadata)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --xml)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cdrom)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --location)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -l)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --extra-args)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -x)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --initrd-inject)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --unattended)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --install)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --reinstall)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cloud-init)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --boot)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --idmap)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --osinfo)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --os-variant)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --disk)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --network)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -w)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --graphics)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --controller)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --input)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --serial)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --parallel)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --channel)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --console)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --hostdev)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --filesystem)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sound)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --audio)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --watchdog)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --video)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --smartcard)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --redirdev)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --memballoon)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tpm)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --rng)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --panic)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --shmem)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --memdev)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --vsock)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --iommu)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pstore)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --iothreads)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --seclabel)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --keywrap)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cputune)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --numatune)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --memtune)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --blkiotune)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --memorybacking)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --features)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --clock)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pm)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --events)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --resource)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sysinfo)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --qemu-commandline)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --launchSecurity)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --virt-type)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --arch)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --machine)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --wait)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --autoconsole)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --print-xml)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --check)
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
    complete -F _qvirt__install -o nosort -o bashdefault -o default qvirt-install
else
    complete -F _qvirt__install -o bashdefault -o default qvirt-install
fi
