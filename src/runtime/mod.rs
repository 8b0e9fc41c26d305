//! Everything that touches the machine: probing it, creating disks,
//! keeping each guest's state folder, launching and supervising QEMU.

pub mod probe;
