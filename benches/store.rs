fn main() { eprintln!("store benchmark: not written yet"); std::process::exit(2); }
