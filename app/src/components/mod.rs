//! Pieces shared by the pages.

pub mod field;
pub mod filters;
pub mod layout;
pub mod pager;
pub mod status_check;
pub mod table;
pub mod time;
