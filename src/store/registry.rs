//! Open accounts, shared: each account is opened once (its recovery pass runs once)
//! and its writes are serialized by a mutex. Sessions lock an account only for the
//! length of one store operation.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use super::{Account, StoreError, account_dir};

pub type SharedAccount = Arc<Mutex<Account>>;

/// The accounts of one data directory.
#[derive(Default)]
pub struct Store {
    data_dir: PathBuf,
    open: Mutex<HashMap<String, SharedAccount>>,
}

impl Store {
    pub fn new(data_dir: PathBuf) -> Store {
        Store {
            data_dir,
            open: Mutex::default(),
        }
    }

    /// The account `name`, opened (and created) on first use.
    pub fn account(&self, name: &str) -> Result<SharedAccount, StoreError> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(a) = open.get(name) {
            return Ok(Arc::clone(a));
        }
        let account = Arc::new(Mutex::new(Account::open(
            &account_dir(&self.data_dir, name),
            name,
        )?));
        open.insert(name.to_string(), Arc::clone(&account));
        Ok(account)
    }
}
