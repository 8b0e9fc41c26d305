//! `--memory`, `--vcpus`, `--cpu`, `--virt-type` and `--arch`.

use super::{SpecError, parse_all};
use crate::subopt::SubOpts;

/// `--memory`, with virt-install's old meaning of `maxmemory` kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Memory {
    /// The guest's RAM in MiB (libvirt's `<memory>`); `None` if not given.
    pub memory_mib: Option<u64>,
    /// What the balloon leaves the guest at start, when less than
    /// `memory_mib` (libvirt's `<currentMemory>`).
    pub current_mib: Option<u64>,
    /// Hot-plug ceiling in MiB (`maxMemory`), with its slot count.
    pub hotplug: Option<(u64, u32)>,
}

impl Memory {
    /// Applies every `--memory` occurrence in order, later ones winning.
    pub fn from_args(values: &[String]) -> Result<Memory, SpecError> {
        let mut memory = Memory::default();
        for mut opts in parse_all("memory", values)? {
            if opts.is_none() {
                continue;
            }
            memory.apply(&mut opts)?;
            opts.finish()?;
        }
        Ok(memory)
    }

    fn apply(&mut self, opts: &mut SubOpts) -> Result<(), SpecError> {
        let value = mib(opts, "memory")?;
        let current = mib(opts, "currentMemory")?;
        let old_max = mib(opts, "maxmemory")?;
        let hotplug_max = mib(opts, "maxMemory")?;
        let slots = opts.take_parsed::<u32>("maxMemory.slots")?;
        if opts.take_bool("hugepages")? == Some(true) {
            return Err(SpecError::Unsupported {
                options: vec!["--memory hugepages".into()],
            });
        }

        // With currentMemory given, `memory` is the size and `maxmemory`
        // another name for it; without, `memory` is what the guest starts
        // with and `maxmemory` the size (virt-install's old semantics).
        match current {
            Some(current) => {
                self.current_mib = Some(current);
                if let Some(size) = value.or(old_max) {
                    self.memory_mib = Some(size);
                }
            }
            None => match (value, old_max) {
                (Some(value), Some(max)) => {
                    self.memory_mib = Some(max.max(value));
                    self.current_mib = Some(value);
                }
                (Some(value), None) => self.memory_mib = Some(value),
                (None, Some(max)) => self.memory_mib = Some(max),
                (None, None) => {}
            },
        }
        if let (Some(size), Some(current)) = (self.memory_mib, self.current_mib) {
            // Setting the current memory raises the size if it was smaller.
            self.memory_mib = Some(size.max(current));
        }
        if hotplug_max.is_some() || slots.is_some() {
            let max = hotplug_max.ok_or_else(|| SpecError::Value {
                option: "memory",
                raw: opts.raw().to_string(),
                reason: "maxMemory.slots needs maxMemory".into(),
            })?;
            self.hotplug = Some((max, slots.unwrap_or(16)));
        }
        Ok(())
    }

    /// The RAM QEMU is started with, in MiB.
    pub fn size_mib(&self) -> u64 {
        self.memory_mib.unwrap_or(0)
    }

    /// The balloon target in MiB, when it is below the RAM size.
    pub fn balloon_target_mib(&self) -> Option<u64> {
        self.current_mib
            .filter(|current| *current < self.size_mib())
    }
}

fn mib(opts: &mut SubOpts, key: &str) -> Result<Option<u64>, SpecError> {
    Ok(opts.take_parsed::<u64>(key)?)
}

/// `--vcpus`: the count and, where given, the topology.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Vcpus {
    /// vCPUs at start; `None` means 1 (or the OS default).
    pub count: Option<u32>,
    /// The hot-plug maximum (`maxvcpus`).
    pub max: Option<u32>,
    /// `sockets`.
    pub sockets: Option<u32>,
    /// `dies`.
    pub dies: Option<u32>,
    /// `cores`.
    pub cores: Option<u32>,
    /// `threads`.
    pub threads: Option<u32>,
}

impl Vcpus {
    /// Applies every `--vcpus` occurrence in order.
    pub fn from_args(values: &[String]) -> Result<Vcpus, SpecError> {
        let mut vcpus = Vcpus::default();
        for mut opts in parse_all("vcpus", values)? {
            if opts.is_none() {
                continue;
            }
            // `vcpus=` is an old name of `vcpu=`.
            let count = opts
                .take_parsed::<u32>("vcpu")?
                .or(opts.take_parsed::<u32>("vcpus")?);
            let current = opts.take_parsed::<u32>("vcpu.current")?;
            let max = opts.take_parsed::<u32>("maxvcpus")?;
            // `--vcpus N,maxvcpus=M` and `--vcpus M,vcpu.current=N`: N now,
            // M at most (libvirt's `<vcpu current='N'>M</vcpu>`).
            let max = match current {
                Some(_) => max.or(count),
                None => max,
            };
            vcpus.count = current.or(count).or(vcpus.count);
            vcpus.max = max.or(vcpus.max);
            for (key, slot) in [
                ("sockets", &mut vcpus.sockets),
                ("dies", &mut vcpus.dies),
                ("cores", &mut vcpus.cores),
                ("threads", &mut vcpus.threads),
            ] {
                if let Some(value) = opts.take_parsed::<u32>(key)? {
                    *slot = Some(value);
                }
            }
            opts.finish()?;
            vcpus.validate(values.last().map(String::as_str).unwrap_or_default())?;
        }
        vcpus.fill_topology(values.last().map(String::as_str).unwrap_or_default())?;
        Ok(vcpus)
    }

    /// virt-install's topology rules: a topology alone gives the count;
    /// missing members are filled preferring cores, then sockets, with one
    /// die; and the product must be the (maximum) vCPU count.
    fn fill_topology(&mut self, raw: &str) -> Result<(), SpecError> {
        let given = [self.sockets, self.dies, self.cores, self.threads];
        if given.iter().all(Option::is_none) {
            return Ok(());
        }
        let product = |v: &Vcpus| {
            [v.sockets, v.dies, v.cores, v.threads]
                .iter()
                .map(|part| part.unwrap_or(1))
                .product::<u32>()
        };
        let total = self.max.or(self.count).unwrap_or_else(|| product(self));
        for member in [
            Member::Cores,
            Member::Sockets,
            Member::Dies,
            Member::Threads,
        ] {
            let fill = match member {
                Member::Dies => 1,
                _ => total / product(self),
            };
            let slot = match member {
                Member::Sockets => &mut self.sockets,
                Member::Dies => &mut self.dies,
                Member::Cores => &mut self.cores,
                Member::Threads => &mut self.threads,
            };
            slot.get_or_insert(fill);
        }
        let implied = product(self);
        if implied != total {
            return Err(SpecError::Value {
                option: "vcpus",
                raw: raw.to_string(),
                reason: format!(
                    "Total CPUs implied by topology (sockets={} * dies={} * cores={} * \
                     threads={} == {implied}) does not match vCPU count {total}",
                    self.sockets.unwrap_or(1),
                    self.dies.unwrap_or(1),
                    self.cores.unwrap_or(1),
                    self.threads.unwrap_or(1),
                ),
            });
        }
        if self.count.is_none() {
            self.count = Some(total);
        }
        Ok(())
    }

    fn validate(&self, raw: &str) -> Result<(), SpecError> {
        let invalid = |reason: String| SpecError::Value {
            option: "vcpus",
            raw: raw.to_string(),
            reason,
        };
        if [
            self.count,
            self.max,
            self.sockets,
            self.dies,
            self.cores,
            self.threads,
        ]
        .contains(&Some(0))
        {
            return Err(invalid("a vCPU count must be at least 1".into()));
        }
        if let (Some(count), Some(max)) = (self.count, self.max) {
            if count > max {
                return Err(invalid(format!(
                    "Requested vcpus {count} is greater than maxvcpus {max}"
                )));
            }
        }
        Ok(())
    }

    /// The number of vCPUs at start.
    pub fn current(&self) -> u32 {
        self.count.or_else(|| self.topology_total()).unwrap_or(1)
    }

    /// sockets × dies × cores × threads, when every part is known.
    fn topology_total(&self) -> Option<u32> {
        let product = self.sockets? * self.dies.unwrap_or(1) * self.cores? * self.threads?;
        Some(product)
    }
}

/// A member of the CPU topology, in the order virt-install fills them.
#[derive(Clone, Copy)]
enum Member {
    Sockets,
    Dies,
    Cores,
    Threads,
}

/// `--cpu`'s mode.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CpuMode {
    /// Nothing asked: host-passthrough under KVM, `max` under TCG.
    Default,
    /// `host-passthrough`: the host CPU as it is (KVM only).
    HostPassthrough,
    /// `host-model`: a model like the host's.
    HostModel,
    /// `maximum`: every feature the accelerator can give.
    Maximum,
    /// A named QEMU model, such as `Skylake-Server`.
    Named(String),
}

/// `--cpu`: a model and feature changes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cpu {
    /// The model.
    pub mode: CpuMode,
    /// `+feat` (true) and `-feat` (false), in order.
    pub features: Vec<(String, bool)>,
}

impl Cpu {
    /// Applies every `--cpu` occurrence in order.
    pub fn from_args(values: &[String], warnings: &mut Vec<String>) -> Result<Cpu, SpecError> {
        let mut cpu = Cpu {
            mode: CpuMode::Default,
            features: Vec::new(),
        };
        for mut opts in parse_all("cpu", values)? {
            if opts.is_none() {
                cpu = Cpu {
                    mode: CpuMode::Default,
                    features: Vec::new(),
                };
                continue;
            }
            let model = opts.take("model");
            let mode = opts.take("mode");
            // libvirt's mode=custom is the one that takes a model.
            let chosen = match (mode.as_deref(), model.as_deref()) {
                (Some("custom"), None) => {
                    return Err(SpecError::Value {
                        option: "cpu",
                        raw: opts.raw().to_string(),
                        reason: "mode=custom needs a model=".into(),
                    });
                }
                (Some("custom") | None, model) => model,
                (Some(mode), None) => Some(mode),
                (Some(mode), Some(model)) => {
                    return Err(SpecError::Value {
                        option: "cpu",
                        raw: opts.raw().to_string(),
                        reason: format!("model={model} goes with mode=custom, not mode={mode}"),
                    });
                }
            };
            if let Some(name) = chosen {
                cpu.mode = cpu_mode(name, warnings);
            }
            for flag in opts.take_flags() {
                let (name, on) = match flag.split_at(1) {
                    ("+", name) => (name, true),
                    (_, name) => (name, false),
                };
                cpu.features.push((name.to_string(), on));
            }
            for (policy, on) in [
                ("require", true),
                ("force", true),
                ("disable", false),
                ("forbid", false),
            ] {
                for name in opts.take_all(policy) {
                    cpu.features.push((name, on));
                }
            }
            opts.finish()?;
        }
        Ok(cpu)
    }
}

fn cpu_mode(name: &str, warnings: &mut Vec<String>) -> CpuMode {
    match name {
        "host-passthrough" => CpuMode::HostPassthrough,
        "host-model" | "host-model-only" => CpuMode::HostModel,
        "maximum" => CpuMode::Maximum,
        "host" => {
            warnings.push("--cpu host is deprecated: using host-model, which it means".into());
            CpuMode::HostModel
        }
        "host-copy" => {
            warnings.push("--cpu host-copy is deprecated: using host-model".into());
            CpuMode::HostModel
        }
        "default" | "hypervisor-default" | "" => CpuMode::Default,
        named => CpuMode::Named(named.to_string()),
    }
}

/// `--virt-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum VirtType {
    /// Hardware acceleration through `/dev/kvm`.
    Kvm,
    /// QEMU's own emulation (TCG).
    Qemu,
}

impl VirtType {
    /// Reads `--virt-type`; other hypervisors are refused.
    pub fn parse(value: &str) -> Result<VirtType, SpecError> {
        match value {
            "kvm" => Ok(VirtType::Kvm),
            "qemu" => Ok(VirtType::Qemu),
            other => Err(SpecError::Invalid(format!(
                "Host does not support domain type {other} for virtualization type 'hvm' \
                 with architecture 'x86_64'"
            ))),
        }
    }
}

/// qvirt runs x86_64 guests; other architectures are refused clearly.
pub fn check_arch(arch: Option<&str>) -> Result<(), SpecError> {
    match arch {
        None | Some("x86_64") | Some("amd64") => Ok(()),
        Some(
            arch @ ("i686" | "aarch64" | "armv7l" | "ppc64" | "ppc64le" | "s390x" | "riscv64"
            | "loongarch64"),
        ) => Err(SpecError::Unsupported {
            options: vec![format!("--arch {arch}")],
        }),
        Some(arch) => Err(SpecError::Invalid(format!(
            "Host does not support any virtualization options for architecture '{arch}'"
        ))),
    }
}

/// Machine types QEMU has that are not x86 PCs, by prefix.
const OTHER_MACHINES: &[&str] = &[
    "microvm",
    "isapc",
    "pseries",
    "powernv",
    "virt",
    "s390-ccw-virtio",
    "vexpress-",
    "sifive_",
    "spike",
];

/// qvirt makes x86 PCs: q35 and i440fx (`pc`), plain or versioned.
pub fn check_machine(machine: Option<&str>) -> Result<(), SpecError> {
    match machine {
        None => Ok(()),
        Some(m) if m == "q35" || m.starts_with("pc-q35-") => Ok(()),
        Some(m) if m == "pc" || m.starts_with("pc-i440fx-") => Ok(()),
        // Other x86 machines and other architectures' machines exist, but
        // qvirt cannot make them yet.
        Some(m) if OTHER_MACHINES.iter().any(|prefix| m.starts_with(prefix)) => {
            Err(SpecError::Unsupported {
                options: vec![format!("--machine {m}")],
            })
        }
        Some(other) => Err(SpecError::Invalid(format!(
            "Host does not support domain type None with machine '{other}' for \
             virtualization type 'hvm' with architecture 'x86_64'"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn memory_semantics() {
        let cases: [(&[&str], Option<u64>, Option<u64>); 5] = [
            (&["1024"], Some(1024), None),
            (&["1024,maxmemory=2048"], Some(2048), Some(1024)),
            (&["memory=2048,currentMemory=1024"], Some(2048), Some(1024)),
            (&["512", "memory=768"], Some(768), None),
            (&["currentMemory=4096,memory=2048"], Some(4096), Some(4096)),
        ];
        for (values, size, current) in cases {
            let memory = Memory::from_args(&strings(values)).expect("parses");
            assert_eq!(
                (memory.memory_mib, memory.current_mib),
                (size, current),
                "{values:?}"
            );
        }
    }

    #[test]
    fn memory_errors() {
        let error = Memory::from_args(&strings(&["abc"])).expect_err("not a number");
        assert!(
            error
                .to_string()
                .starts_with("--memory abc: invalid literal"),
            "{error}"
        );
    }

    #[test]
    fn vcpus_topology() {
        let vcpus = Vcpus::from_args(&strings(&["4,maxvcpus=8,sockets=2,cores=2,threads=2"]))
            .expect("parses");
        assert_eq!(
            (vcpus.current(), vcpus.max, vcpus.sockets),
            (4, Some(8), Some(2))
        );
        let vcpus = Vcpus::from_args(&strings(&["sockets=2,cores=2,threads=1"])).expect("parses");
        assert_eq!(vcpus.current(), 4);
        assert!(Vcpus::from_args(&strings(&["8,maxvcpus=4"])).is_err());
        // The count and the current count: the count is the maximum.
        for raw in ["4,vcpu.current=2", "vcpus=4,vcpu.current=2", "2,maxvcpus=4"] {
            let v = Vcpus::from_args(&strings(&[raw])).expect(raw);
            assert_eq!((v.current(), v.max), (2, Some(4)), "{raw}");
        }
        assert_eq!(
            Vcpus::from_args(&strings(&["vcpus=6"]))
                .expect("old name")
                .current(),
            6
        );

        // Missing members: cores first, then sockets, one die, threads.
        let cases: [(&str, [u32; 4]); 4] = [
            ("sockets=2,cores=2", [2, 1, 2, 1]),
            ("8,sockets=2", [2, 1, 4, 1]),
            ("8,threads=2", [1, 1, 4, 2]),
            ("2,maxvcpus=8,cores=4", [2, 1, 4, 1]),
        ];
        for (raw, want) in cases {
            let v = Vcpus::from_args(&strings(&[raw])).expect(raw);
            let got = [v.sockets, v.dies, v.cores, v.threads].map(|m| m.unwrap_or(0));
            assert_eq!(got, want, "{raw}");
        }
        let error = Vcpus::from_args(&strings(&["4,sockets=1,cores=2,threads=1"]))
            .expect_err("mismatch")
            .to_string();
        assert!(
            error.ends_with(
                "(sockets=1 * dies=1 * cores=2 * threads=1 == 2) does not match vCPU count 4"
            ),
            "{error}"
        );
    }

    #[test]
    fn cpu_modes_and_features() {
        let mut warnings = Vec::new();
        let cpu =
            Cpu::from_args(&strings(&["Skylake-Server,+vmx,-hle"]), &mut warnings).expect("parses");
        assert_eq!(cpu.mode, CpuMode::Named("Skylake-Server".into()));
        assert_eq!(cpu.features, [("vmx".into(), true), ("hle".into(), false)]);
        let cpu =
            Cpu::from_args(&strings(&["mode=custom,model=EPYC"]), &mut warnings).expect("parses");
        assert_eq!(cpu.mode, CpuMode::Named("EPYC".into()));
        for bad in ["mode=custom", "mode=host-passthrough,model=EPYC"] {
            assert!(
                Cpu::from_args(&strings(&[bad]), &mut warnings).is_err(),
                "{bad}"
            );
        }
        let cpu = Cpu::from_args(&strings(&["host"]), &mut warnings).expect("parses");
        assert_eq!(cpu.mode, CpuMode::HostModel);
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn machines() {
        for ok in [
            None,
            Some("q35"),
            Some("pc"),
            Some("pc-q35-7.2"),
            Some("pc-i440fx-7.2"),
        ] {
            assert!(check_machine(ok).is_ok(), "{ok:?}");
        }
        let error = check_machine(Some("foobar"))
            .expect_err("unknown")
            .to_string();
        assert!(error.contains("with machine 'foobar'"), "{error}");
        for later in ["microvm", "pseries", "virt-7.2", "s390-ccw-virtio"] {
            let error = check_machine(Some(later)).expect_err(later).to_string();
            assert!(error.contains("not supported yet"), "{error}");
        }
    }

    #[test]
    fn arches() {
        assert!(check_arch(Some("x86_64")).is_ok());
        assert!(
            check_arch(Some("aarch64"))
                .unwrap_err()
                .to_string()
                .contains("not supported yet")
        );
        assert!(
            check_arch(Some("mips"))
                .unwrap_err()
                .to_string()
                .contains("'mips'")
        );
    }
}
