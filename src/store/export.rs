//! Export to mbox and maildir: see the helper task.
