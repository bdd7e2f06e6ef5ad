pub mod calendar;
pub mod spec;
