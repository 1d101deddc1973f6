//! Integration tests: the real app on a real Postgres, over real HTTP.
//! Each test gets its own fresh database (see `helpers`).

mod account;
mod account_changes;
mod admin;
mod catalog;
mod cluster;
mod contract;
mod deploy;
mod emails;
mod faults;
mod health;
mod helpers;
mod hostile;
mod languages;
mod limits;
mod metrics;
mod openapi;
mod orders;
mod pages;
mod passkeys;
mod registration;
mod resets;
mod second_factor;
mod smtp;
mod soft_passkey;
mod startup;
mod webhooks;
