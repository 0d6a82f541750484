//! Import of mbox and maildir: see the helper task.
