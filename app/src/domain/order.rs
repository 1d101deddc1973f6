//! The limits of one order: the server applies them (`services::orders`), and the cart keeps
//! to them as `GET /api/settings` says them.

/// Lines of one order.
pub const ORDER_MAX_LINES: usize = 50;
/// Units of one product on one line.
pub const ORDER_MAX_QUANTITY: u32 = 1000;
