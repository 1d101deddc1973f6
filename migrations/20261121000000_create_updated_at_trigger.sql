-- Keeps `updated_at` honest on every table that opts in with:
--   create trigger set_updated_at before update on <table>
--     for each row execute function set_updated_at();
create or replace function set_updated_at() returns trigger
language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end;
$$;
