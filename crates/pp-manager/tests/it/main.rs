fn main() { pp_manager::init(); }
