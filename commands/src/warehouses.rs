//! Which warehouses are registered, kept warm for the Stock aggregate's rules.

use std::collections::HashSet;
use std::sync::RwLock;

use domain::WarehouseRegistry;

/// Registered warehouse ids seen by this process. A warehouse is never unregistered,
/// so a positive answer never goes stale; a miss is checked against the log.
#[derive(Debug, Default)]
pub struct KnownWarehouses {
    ids: RwLock<HashSet<String>>,
}

impl KnownWarehouses {
    pub fn insert(&self, warehouse_id: &str) {
        self.ids
            .write()
            .expect("warehouse set poisoned")
            .insert(warehouse_id.to_string());
    }
}

impl WarehouseRegistry for KnownWarehouses {
    fn is_registered(&self, warehouse_id: &str) -> bool {
        self.ids
            .read()
            .expect("warehouse set poisoned")
            .contains(warehouse_id)
    }
}
