complete -c qvirt-install -l connect -d 'Hypervisor connection: qemu:///system or qemu:///session' -r -f
complete -c qvirt-install -s n -l name -d 'Name of the guest instance' -r -f
complete -c qvirt-install -l memory -d 'Guest memory in MiB: --memory 1024 (or memory=,currentMemory=,maxmemory=)' -r -f
complete -c qvirt-install -l vcpus -d 'Number of vCPUs and topology: --vcpus 4,maxvcpus=8,sockets=1,cores=4,threads=1' -r -f
complete -c qvirt-install -l cpu -d 'CPU model and features: --cpu host-passthrough, --cpu Skylake-Server,+vmx' -r -f
complete -c qvirt-install -l metadata -d 'Guest metadata: --metadata title=...,description=...' -r -f
complete -c qvirt-install -l xml -d 'Raw XPath edits of libvirt\'s domain XML' -r -f
complete -c qvirt-install -l cdrom -d 'CD-ROM installation media' -r -F
complete -c qvirt-install -s l -l location -d 'Distro install tree or ISO: --location ISO,kernel=...,initrd=...' -r -F
complete -c qvirt-install -s x -l extra-args -d 'Extra arguments for the kernel booted by --location' -r -f
complete -c qvirt-install -l initrd-inject -d 'Add the given file to the root of the initrd from --location' -r -F
complete -c qvirt-install -l unattended -d 'Unattended installation with an OS install script' -r -f
complete -c qvirt-install -l install -d 'Fine-grained install options: --install kernel=,initrd=,kernel_args=' -r -f
complete -c qvirt-install -l reinstall -d 'Reinstall an existing guest' -r -f
complete -c qvirt-install -l cloud-init -d 'A NoCloud seed for cloud images: --cloud-init user-data=FILE' -r -f
complete -c qvirt-install -l boot -d 'Boot settings after the install: --boot hd,cdrom,menu=on or --boot uefi' -r -f
complete -c qvirt-install -l idmap -d 'User namespace mapping for containers' -r -f
complete -c qvirt-install -l osinfo -l os-variant -d 'The OS installed in the guest (also --os-variant): --osinfo debian12, --osinfo list' -r -f
complete -c qvirt-install -l disk -d 'Storage: --disk size=20, --disk path=a.qcow2,bus=virtio,cache=none' -r -F
complete -c qvirt-install -s w -l network -d 'A NIC: --network bridge=br0, --network user, --network none' -r -f
complete -c qvirt-install -l graphics -d 'The display: --graphics vnc,listen=0.0.0.0 or --graphics none' -r -f
complete -c qvirt-install -l controller -d 'A controller: --controller type=usb,model=qemu-xhci' -r -f
complete -c qvirt-install -l input -d 'An input device: --input tablet' -r -f
complete -c qvirt-install -l serial -d 'A serial port: --serial pty, --serial file,path=/tmp/serial.log' -r -f
complete -c qvirt-install -l parallel -d 'A parallel port' -r -f
complete -c qvirt-install -l channel -d 'A communication channel' -r -f
complete -c qvirt-install -l console -d 'A text console: --console pty,target.type=virtio' -r -f
complete -c qvirt-install -l hostdev -d 'A host device to pass through' -r -f
complete -c qvirt-install -l filesystem -d 'A host folder shared with the guest' -r -f
complete -c qvirt-install -l sound -d 'A sound device' -r -f
complete -c qvirt-install -l audio -d 'The host audio backend' -r -f
complete -c qvirt-install -l watchdog -d 'A watchdog device' -r -f
complete -c qvirt-install -l video -d 'The video device: --video virtio, --video vga' -r -f
complete -c qvirt-install -l smartcard -d 'A smartcard device' -r -f
complete -c qvirt-install -l redirdev -d 'USB redirection' -r -f
complete -c qvirt-install -l memballoon -d 'The memory balloon: --memballoon virtio or none' -r -f
complete -c qvirt-install -l tpm -d 'A TPM device' -r -f
complete -c qvirt-install -l rng -d 'The random number generator: --rng /dev/urandom or none' -r -f
complete -c qvirt-install -l panic -d 'A panic notifier' -r -f
complete -c qvirt-install -l shmem -d 'Shared memory' -r -f
complete -c qvirt-install -l memdev -d 'Memory devices' -r -f
complete -c qvirt-install -l vsock -d 'A vsock device' -r -f
complete -c qvirt-install -l iommu -d 'A virtual IOMMU' -r -f
complete -c qvirt-install -l pstore -d 'An ACPI ERST pstore device' -r -f
complete -c qvirt-install -l iothreads -d 'I/O threads' -r -f
complete -c qvirt-install -l seclabel -d 'Security labels' -r -f
complete -c qvirt-install -l keywrap -d 's390 key wrapping' -r -f
complete -c qvirt-install -l cputune -d 'vCPU pinning and scheduling' -r -f
complete -c qvirt-install -l numatune -d 'Host NUMA memory policy' -r -f
complete -c qvirt-install -l memtune -d 'Memory limits' -r -f
complete -c qvirt-install -l blkiotune -d 'Block I/O weights' -r -f
complete -c qvirt-install -l memorybacking -d 'Memory backing: hugepages, shared memory' -r -f
complete -c qvirt-install -l features -d 'Machine features: --features acpi=off' -r -f
complete -c qvirt-install -l clock -d 'The guest clock: --clock offset=localtime' -r -f
complete -c qvirt-install -l pm -d 'Power management' -r -f
complete -c qvirt-install -l events -d 'What happens on poweroff, reboot and crash' -r -f
complete -c qvirt-install -l resource -d 'Resource partitioning' -r -f
complete -c qvirt-install -l sysinfo -d 'SMBIOS strings' -r -f
complete -c qvirt-install -l qemu-commandline -d 'Extra QEMU arguments, passed through: --qemu-commandline=\'-device foo\'' -r -f
complete -c qvirt-install -l launchSecurity -d 'Confidential guests: SEV, SEV-SNP, TDX' -r -f
complete -c qvirt-install -l virt-type -d 'Hypervisor: kvm (the default where /dev/kvm works) or qemu (TCG)' -r -f
complete -c qvirt-install -l arch -d 'Guest CPU architecture' -r -f
complete -c qvirt-install -l machine -d 'Machine type: q35 (the default) or pc' -r -f
complete -c qvirt-install -l wait -d 'Minutes to wait for the install to finish (bare or negative: until it ends)' -r -f
complete -c qvirt-install -l autoconsole -d 'Which console to attach: text, graphical, none or default' -r -f
complete -c qvirt-install -l print-xml -d 'Print the QEMU command of the install step (1), the final step (2) or all' -r -f
complete -c qvirt-install -l check -d 'Turn checks off: --check path_in_use=off' -r -f
complete -c qvirt-install -l pxe -d 'Boot from the network using the PXE protocol'
complete -c qvirt-install -l import -d 'Build the guest around an existing disk image'
complete -c qvirt-install -s v -l hvm -d 'Fully virtualized guest (the default)'
complete -c qvirt-install -s p -l paravirt -d 'Xen paravirtualized guest'
complete -c qvirt-install -l container -d 'Container guest'
complete -c qvirt-install -l autostart -d 'Start the guest when the host boots'
complete -c qvirt-install -l transient -d 'Do not keep the guest\'s definition once it is off'
complete -c qvirt-install -l destroy-on-exit -d 'Stop the guest when its console is left'
complete -c qvirt-install -l noautoconsole -d 'Do not attach to the guest\'s console'
complete -c qvirt-install -l noreboot -d 'Do not boot the guest after the install'
complete -c qvirt-install -l print-qemu -d 'Print the qemu-img and QEMU commands that would run, and exit'
complete -c qvirt-install -l dry-run -d 'Check everything, create nothing'
complete -c qvirt-install -s q -l quiet -d 'Print only errors'
complete -c qvirt-install -s d -l debug -d 'Print debugging information, and every command run'
complete -c qvirt-install -l version -d 'Print the version and exit'
complete -c qvirt-install -s h -l help -d 'Print help'
