-- The language a person picked for the product's pages and emails; null when they picked none
-- (their browser's then decides). Codes are the folders of app/locales; the app reads a code it
-- no longer has as English.
alter table users add column language text
    constraint users_language_format check (language ~ '^[a-z]{2,3}$');
