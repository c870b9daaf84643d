//! The store suite on one `MemoryStore` shared by both machines (as in one process).

use crate::support::stores::Memory;

super::store_suite!(Memory::new());
