//! Everything that touches the machine: probing it, keeping each guest's
//! state folders, launching QEMU and supervising it through its phases,
//! and the serial console.

pub mod console;
pub mod install;
pub mod launch;
pub mod live;
pub mod prepare;
pub mod probe;
pub mod state;
pub mod supervise;
pub mod tap;
