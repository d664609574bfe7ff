//! The in-process lock and stock gate: [`MemoryLock`] and [`MemoryGate`]. Every backend uses
//! them unless given shared ones (Redis); they are always built, with or without the `memory`
//! feature (which adds the in-process *store*, module `memory`).

mod gate;
mod lock;
pub(crate) mod sync;

pub use gate::MemoryGate;
pub use lock::MemoryLock;
