import { randomBytes } from 'node:crypto';
import { expect, request as http, test, type APIRequestContext, type Locator, type Page } from '@playwright/test';
import { createAdmin, newAdmin } from './admin-cli';
import { expectAccessible, queryNames, waitForHydration } from './helpers';
import { activatedPerson, origin, readSubjects, type Person } from './mailbox';
import { banner, onPath, openLogin, signIn } from './session';

/** Tests share one database: every product name carries a tag of its own test. */
function newTag(): string {
  return randomBytes(4).toString('hex');
}

interface Product {
  id: string;
  name: string;
  price: string;
  stock: number;
  version: number;
}

/** An API client signed in as `person` (a session cookie of its own). */
async function apiAs(baseURL: string, person: Person): Promise<APIRequestContext> {
  const api = await http.newContext({ baseURL });
  const signedIn = await api.post('/api/login', { data: { email: person.email, password: person.password } });
  expect(signedIn.status(), await signedIn.text()).toBe(200);
  return api;
}

async function createProduct(
  api: APIRequestContext,
  fields: { name: string; price: string; stock: number; description?: string },
): Promise<Product> {
  const response = await api.post('/api/create-product', { data: fields });
  expect(response.status(), await response.text()).toBe(201);
  return (await response.json()) as Product;
}

async function getProduct(api: APIRequestContext, id: string): Promise<Product> {
  const response = await api.get(`/api/product?id=${id}`);
  expect(response.status(), await response.text()).toBe(200);
  return (await response.json()) as Product;
}

async function setStock(api: APIRequestContext, id: string, stock: number): Promise<void> {
  const { version } = await getProduct(api, id);
  const response = await api.post('/api/update-product', { data: { id, version, stock } });
  expect(response.status(), await response.text()).toBe(200);
}

/** The value of a `<dt>term</dt><dd>value</dd>` pair. */
function fact(page: Page, term: string): Locator {
  return page.locator('dl.facts dt', { hasText: term }).locator('xpath=following-sibling::dd[1]');
}

/** The header's cart link ("Cart" or "Cart (3)"). */
function cartLink(page: Page): Locator {
  return banner(page).getByRole('link', { name: /^Cart\b/ });
}

/** The row of a table in the page's main region that names `text`. */
function row(page: Page, text: string): Locator {
  return page.getByRole('main').getByRole('row').filter({ hasText: text });
}

/** Searches the catalogue from the header's "Products" link (no page load). */
async function search(page: Page, keyword: string, inStockOnly = false): Promise<void> {
  await banner(page).getByRole('link', { name: 'Products', exact: true }).click();
  await expect(page).toHaveURL(onPath('/products'));
  const main = page.getByRole('main');
  await main.getByLabel('Search', { exact: true }).fill(keyword);
  await main.getByLabel('Lowest price', { exact: true }).fill('');
  await main.getByLabel('Highest price', { exact: true }).fill('');
  await main.getByLabel('In stock only').setChecked(inStockOnly);
  await main.getByRole('button', { name: 'Search', exact: true }).click();
  await expect(page).toHaveURL((url) => url.searchParams.get('keyword') === keyword);
}

/** Opens a product from the catalogue list and adds `quantity` to the cart. */
async function addToCart(page: Page, name: string, quantity: number, expectStock: string): Promise<void> {
  const main = page.getByRole('main');
  await main.getByRole('link', { name, exact: true }).click();
  await expect(page.getByRole('heading', { name, exact: true, level: 1 })).toBeVisible();
  await expect(main.getByText(expectStock, { exact: true })).toBeVisible();
  await main.getByLabel('Quantity', { exact: true }).fill(String(quantity));
  await main.getByRole('button', { name: 'Add to cart', exact: true }).click();
  await expect(main.getByRole('status')).toContainText(`Added ${quantity} × ${name} to your cart.`);
}

test.describe('catalogue and orders', () => {
  test('an administrator stocks two products; a person finds, buys, is mailed, and cancels', async ({
    page,
    browser,
    request,
    baseURL,
  }) => {
    // Two people in two browsers, six full page loads (the rest is in-app navigation) and three
    // password checks, on a machine that may be busy.
    test.setTimeout(180_000);
    const server = origin(baseURL);
    const tag = newTag();
    const teapot = `Teapot ${tag}`;
    const cup = `Cup ${tag}`;
    const admin = newAdmin();
    createAdmin(admin);
    const person = await activatedPerson(request, server);

    await test.step('the administrator creates two products on /admin/products', async () => {
      const context = await browser.newContext();
      const adminPage = await context.newPage();
      await openLogin(adminPage, '/login?next=/admin/products');
      await signIn(adminPage, admin.email, admin.password, '/admin/products');
      await expect(
        adminPage.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: 'Products' }),
      ).toHaveAttribute('aria-current', 'page');
      const main = adminPage.getByRole('main');
      for (const [name, description, price, stock] of [
        [teapot, 'Blue glaze, holds a litre.', '12.50', '3'],
        [cup, 'Goes with the teapot.', '2.2', '5'],
      ] as const) {
        await main.getByLabel('Name', { exact: true }).fill(name);
        await main.getByLabel('Description', { exact: true }).fill(description);
        await main.getByLabel('Price', { exact: true }).fill(price);
        await main.getByLabel('Stock', { exact: true }).fill(stock);
        await main.getByRole('button', { name: 'Create product', exact: true }).click();
        await expect(main.getByRole('status')).toHaveText(`Created ${name}.`);
        await expect(main.getByRole('link', { name, exact: true })).toBeVisible();
      }
      await expect(row(adminPage, cup)).toContainText('2.20');
      await context.close();
    });

    await test.step('the person signs in and searches the catalogue', async () => {
      await openLogin(page, '/login?next=/products');
      await signIn(page, person.email, person.password, '/products');
      await expect(banner(page).getByRole('link', { name: 'Orders', exact: true })).toHaveAttribute('href', '/orders');
      const main = page.getByRole('main');
      await main.getByLabel('Search', { exact: true }).fill(tag);
      await main.getByRole('button', { name: 'Search', exact: true }).click();
      await expect(page).toHaveURL((url) => url.pathname === '/products' && url.searchParams.get('keyword') === tag);
      // The form's fields and nothing else (the unchecked box sends nothing, the button no `=`).
      expect(queryNames(page)).toEqual(['keyword', 'min_price', 'max_price', 'sort']);
      await expect(main.getByRole('heading', { level: 2 })).toHaveCount(2);
      await expect(main.getByText('Showing 1–2 of 2')).toBeVisible();
    });

    await test.step('filters by price; the filtered page survives a reload', async () => {
      const main = page.getByRole('main');
      await main.getByLabel('Highest price', { exact: true }).fill('5');
      await main.getByRole('button', { name: 'Search', exact: true }).click();
      await expect(page).toHaveURL((url) => url.searchParams.get('max_price') === '5' && url.searchParams.get('keyword') === tag);
      await expect(main.getByRole('link', { name: cup, exact: true })).toBeVisible();
      await expect(main.getByRole('link', { name: teapot, exact: true })).toHaveCount(0);
      await page.reload();
      await expect(main.getByRole('link', { name: cup, exact: true })).toBeVisible();
      await expect(main.getByRole('link', { name: teapot, exact: true })).toHaveCount(0);
      await expect(main.getByLabel('Highest price', { exact: true })).toHaveValue('5');
      await expect(main.getByLabel('Search', { exact: true })).toHaveValue(tag);
      await expect(main.getByRole('listitem').filter({ hasText: cup })).toContainText('In stock: 5');
      await waitForHydration(page);
    });

    await test.step('opens each product and adds it to the cart', async () => {
      await addToCart(page, cup, 2, 'In stock: 5');
      await expect(cartLink(page)).toHaveText('Cart (2)');
      await search(page, tag);
      await addToCart(page, teapot, 3, 'In stock: 3');
      await expect(cartLink(page)).toHaveText('Cart (5)');
    });

    await test.step('the cart shows each line and the total, and survives a reload', async () => {
      await cartLink(page).click();
      await expect(page).toHaveURL(onPath('/cart'));
      await expect(page.getByRole('heading', { name: 'Your cart', level: 1 })).toBeVisible();
      await expect(row(page, teapot)).toContainText('37.50');
      await expect(row(page, cup)).toContainText('4.40');
      await expect(row(page, 'Total')).toContainText('41.90');
      await page.reload();
      await waitForHydration(page);
      await expect(row(page, teapot)).toContainText('37.50');
      await expect(row(page, 'Total')).toContainText('41.90');
      await expect(cartLink(page)).toHaveText('Cart (5)');
      await expectAccessible(page, 'the cart with two lines');
    });

    await test.step('changes a quantity; the amounts follow', async () => {
      const main = page.getByRole('main');
      await main.getByLabel(`Quantity of ${cup}`, { exact: true }).fill('1');
      await expect(row(page, cup)).toContainText('2.20');
      await expect(row(page, 'Total')).toContainText('39.70');
      await expect(cartLink(page)).toHaveText('Cart (4)');
    });

    let orderPath = '';
    await test.step('checks out and lands on the order', async () => {
      await page.getByRole('main').getByRole('button', { name: 'Place order', exact: true }).click();
      await expect(page).toHaveURL((url) => /^\/orders\/[0-9a-f-]{36}$/.test(url.pathname));
      orderPath = new URL(page.url()).pathname;
      const main = page.getByRole('main');
      await expect(main.getByRole('heading', { name: /^Order [0-9a-f]{8}$/, level: 1 })).toBeVisible();
      await expect(main.getByRole('status')).toContainText('your order is placed');
      await expect(fact(page, 'Status')).toHaveText('placed');
      await expect(row(page, teapot)).toContainText('37.50');
      await expect(row(page, cup)).toContainText('2.20');
      await expect(row(page, 'Total')).toContainText('39.70');
      await expect(cartLink(page)).toHaveText('Cart');
      // Placed moments ago, as a person reads it; no raw ISO timestamp.
      await expect(fact(page, 'Placed')).toHaveText(/just now|minutes? ago/);
      await expect(main).not.toContainText(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
    });

    await test.step('the confirmation is in the mailbox', async () => {
      // The limit only stops a hang: the mail is there once the outbox worker has handled it.
      await expect
        .poll(() => readSubjects(request, server, person.email), { timeout: 60_000 })
        .toContain('Your order of €39.70 is confirmed');
    });

    await test.step('the sold-out teapot is left out by "In stock only"', async () => {
      await search(page, tag);
      const main = page.getByRole('main');
      await expect(main.getByRole('listitem').filter({ hasText: teapot })).toContainText('Out of stock');
      await search(page, tag, true);
      await expect(page).toHaveURL((url) => url.searchParams.get('in_stock') === 'true');
      await expect(main.getByRole('link', { name: teapot, exact: true })).toHaveCount(0);
      await expect(main.getByRole('link', { name: cup, exact: true })).toBeVisible();
    });

    await test.step('the order is in the history; cancelling it puts the stock back', async () => {
      await banner(page).getByRole('link', { name: 'Orders', exact: true }).click();
      await expect(page).toHaveURL(onPath('/orders'));
      const main = page.getByRole('main');
      await expect(main.getByRole('heading', { name: 'Your orders', level: 1 })).toBeVisible();
      const first = main.getByRole('row').nth(1);
      await expect(first).toContainText('39.70');
      await expect(first).toContainText('placed');
      await expect(first.locator('time')).toHaveText(/just now|minutes? ago/);
      await first.getByRole('link').click();
      await expect(page).toHaveURL(onPath(orderPath));
      await main.getByRole('button', { name: 'Cancel order…', exact: true }).click();
      const confirm = main.getByRole('group');
      await expect(confirm).toContainText('Cancel this order?');
      await confirm.getByRole('button', { name: 'Cancel order', exact: true }).click();
      await expect(main.getByRole('status')).toContainText('The order is cancelled.');
      await expect(fact(page, 'Status')).toHaveText('cancelled');
      await expect(main.getByRole('button', { name: 'Cancel order…', exact: true })).toHaveCount(0);

      await main.getByRole('link', { name: teapot, exact: true }).click();
      await expect(page.getByRole('heading', { name: teapot, level: 1 })).toBeVisible();
      await expect(main.getByText('In stock: 3', { exact: true })).toBeVisible();
    });
  });

  test('a line short of stock is refused on that line, and nothing is ordered', async ({
    page,
    request,
    baseURL,
  }) => {
    test.setTimeout(120_000);
    const server = origin(baseURL);
    const admin = newAdmin();
    createAdmin(admin);
    const adminApi = await apiAs(server, admin);
    const kettle = await createProduct(adminApi, { name: `Kettle ${newTag()}`, price: '30.00', stock: 2 });
    const person = await activatedPerson(request, server);

    await test.step('an anonymous visitor puts two in the cart and is asked to sign in at checkout', async () => {
      await page.goto(`/products/${kettle.id}`);
      await expect(page.getByRole('heading', { name: kettle.name, level: 1 })).toBeVisible();
      await waitForHydration(page);
      const main = page.getByRole('main');
      await main.getByLabel('Quantity', { exact: true }).fill('2');
      await main.getByRole('button', { name: 'Add to cart', exact: true }).click();
      await main.getByRole('link', { name: 'View your cart' }).click();
      await expect(page).toHaveURL(onPath('/cart'));
      await expect(row(page, kettle.name)).toContainText('60.00');
      await main.getByRole('button', { name: 'Place order', exact: true }).click();
      await expect(page).toHaveURL((url) => url.pathname === '/login' && url.searchParams.get('next') === '/cart');
      await expect(page.getByRole('heading', { name: 'Sign in', exact: true })).toBeVisible();
      await waitForHydration(page);
      await signIn(page, person.email, person.password, '/cart');
      await expect(row(page, kettle.name)).toContainText('60.00');
    });

    await test.step('one is sold meanwhile; checkout is refused on the kettle line', async () => {
      await setStock(adminApi, kettle.id, 1);
      const main = page.getByRole('main');
      await main.getByRole('button', { name: 'Place order', exact: true }).click();
      await expect(main.getByRole('alert').filter({ hasText: 'Nothing was ordered' })).toBeVisible();
      await expect(row(page, kettle.name)).toContainText('Only 1 left.');
      await expect(page).toHaveURL(onPath('/cart'));
    });

    await test.step('nothing was ordered', async () => {
      expect((await getProduct(adminApi, kettle.id)).stock).toBe(1);
      const orders = await page.request.get('/api/orders');
      expect(orders.status()).toBe(200);
      expect((await orders.json()).items).toHaveLength(0);
    });

    await test.step('with one in the cart, the order goes through', async () => {
      const main = page.getByRole('main');
      await main.getByLabel(`Quantity of ${kettle.name}`, { exact: true }).fill('1');
      await expect(row(page, kettle.name)).not.toContainText('Only 1 left.');
      await main.getByRole('button', { name: 'Place order', exact: true }).click();
      await expect(page).toHaveURL((url) => /^\/orders\/[0-9a-f-]{36}$/.test(url.pathname));
      await expect(row(page, 'Total')).toContainText('30.00');
      expect((await getProduct(adminApi, kettle.id)).stock).toBe(0);
    });
    await adminApi.dispose();
  });

  test('an edit from a stale version is refused with the fresh values; delete asks first', async ({
    page,
    context,
    baseURL,
  }) => {
    test.setTimeout(120_000);
    const server = origin(baseURL);
    const admin = newAdmin();
    createAdmin(admin);
    const adminApi = await apiAs(server, admin);
    const lamp = await createProduct(adminApi, { name: `Lamp ${newTag()}`, price: '9.99', stock: 4 });
    const editPath = `/admin/products/${lamp.id}`;

    await test.step('the administrator opens the product to edit it', async () => {
      await openLogin(page, `/login?next=${editPath}`);
      await signIn(page, admin.email, admin.password, editPath);
      const main = page.getByRole('main');
      await expect(main.getByRole('heading', { name: lamp.name, level: 2 })).toBeVisible();
      await expect(main.getByLabel('Stock', { exact: true })).toHaveValue('4');
      await expect(main.getByLabel('Price', { exact: true })).toHaveValue('9.99');
    });

    await test.step('meanwhile, another tab changes the stock', async () => {
      const other = await context.newPage();
      await other.goto(editPath);
      await waitForHydration(other);
      const main = other.getByRole('main');
      await expect(main.getByLabel('Stock', { exact: true })).toHaveValue('4');
      await main.getByLabel('Stock', { exact: true }).fill('7');
      await main.getByRole('button', { name: 'Save changes', exact: true }).click();
      await expect(main.getByRole('status')).toHaveText('Saved.');
      await other.close();
    });

    await test.step('saving from the stale form is refused and shows the fresh values', async () => {
      const main = page.getByRole('main');
      await main.getByLabel('Price', { exact: true }).fill('10.50');
      await main.getByRole('button', { name: 'Save changes', exact: true }).click();
      await expect(main.getByRole('alert').filter({ hasText: 'Someone changed this product since you loaded it' })).toBeVisible();
      await expect(main.getByLabel('Stock', { exact: true })).toHaveValue('7');
      await expect(main.getByLabel('Price', { exact: true })).toHaveValue('9.99');
      const stored = await getProduct(adminApi, lamp.id);
      expect(stored.price).toBe('9.99');
      expect(stored.stock).toBe(7);
    });

    await test.step('made again on the fresh values, the change is saved', async () => {
      const main = page.getByRole('main');
      await main.getByLabel('Price', { exact: true }).fill('10.50');
      await main.getByRole('button', { name: 'Save changes', exact: true }).click();
      await expect(main.getByRole('status')).toHaveText('Saved.');
      const stored = await getProduct(adminApi, lamp.id);
      expect(stored.price).toBe('10.50');
      expect(stored.stock).toBe(7);
    });

    await test.step('deletes it after a confirmation; it leaves the shop', async () => {
      const main = page.getByRole('main');
      await main.getByRole('button', { name: 'Delete…', exact: true }).click();
      const confirm = main.getByRole('group');
      await expect(confirm).toContainText(`Delete ${lamp.name}?`);
      await confirm.getByRole('button', { name: 'Delete product', exact: true }).click();
      await expect(page).toHaveURL(onPath('/admin/products'));
      await expect(main.getByRole('status')).toHaveText('The product was deleted.');
      const gone = await page.goto(`/products/${lamp.id}`);
      expect(gone?.status()).toBeLessThan(500);
      await expect(page.getByRole('heading', { name: 'Product not found', level: 1 })).toBeVisible();
    });
    await adminApi.dispose();
  });

  test('orders and their pages send anonymous visitors to sign in first', async ({ page }) => {
    await page.goto('/orders');
    await expect(page).toHaveURL((url) => url.pathname === '/login' && url.searchParams.get('next') === '/orders');
    await page.goto('/admin/products');
    await expect(page).toHaveURL((url) => url.pathname === '/login' && url.searchParams.get('next') === '/admin/products');
  });
});
