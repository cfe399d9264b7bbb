// The bridge's network admin page in a real browser (Debian's chromium, headless, driven
// by playwright-core): log in as the network admin, open Settings > Domain Host, press
// "Check now" on one domain and "Test" on one integration, keep a screenshot, and print
// what the page showed as one JSON line for tests/wordpress_e2e.rs to assert on.
//
// Environment: WP_URL, WP_USER, WP_PASSWORD, DOMAIN, INTEGRATION, SCREENSHOT, PROFILE (a
// fresh --user-data-dir), CHROMIUM (default /usr/bin/chromium).
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const url = env('WP_URL');
const domain = env('DOMAIN');
const integration = env('INTEGRATION');

const context = await chromium.launchPersistentContext(env('PROFILE'), {
  executablePath: env('CHROMIUM', '/usr/bin/chromium'),
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
  viewport: { width: 1400, height: 1000 },
});
const out = {};
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(90_000);

  // The real login form.
  await page.goto(`${url}/wp-login.php`);
  await page.fill('#user_login', env('WP_USER'));
  await page.fill('#user_pass', env('WP_PASSWORD'));
  await Promise.all([page.waitForNavigation(), page.click('#wp-submit')]);
  out.after_login = new URL(page.url()).pathname;

  await page.goto(`${url}/wp-admin/network/settings.php?page=domain-host`);
  out.title = await page.textContent('#domain-host h1');

  const row = (attr, value) => page.locator(`tr[${attr}="${value}"]`);
  const lines = async (selector) =>
    (await page.locator(selector).allTextContents()).map((t) => t.trim());

  // "Check now" on the domain.
  await Promise.all([
    page.waitForNavigation(),
    row('data-domain', domain).locator('button[data-action="check"]').click(),
  ]);
  out.check = {
    notice: (await page.textContent('#domain-host-result > p')).trim(),
    notice_class: await page.getAttribute('#domain-host-result', 'class'),
    lines: await lines('#domain-host-result li'),
    stage: (await row('data-domain', domain).locator('td.stage').textContent()).trim(),
    names: await lines(`tr[data-domain="${domain}"] div.name`),
    diagnosis: await lines(`tr[data-domain="${domain}"] td.diagnosis li`),
  };

  // "Test" on the integration.
  await Promise.all([
    page.waitForNavigation(),
    row('data-integration', integration).locator('button[data-action="test"]').click(),
  ]);
  out.test = {
    state: (await row('data-integration', integration).locator('td.state').textContent()).trim(),
    notice: (await page.textContent('#domain-host-result > p')).trim(),
    notice_class: await page.getAttribute('#domain-host-result', 'class'),
    lines: await lines('#domain-host-result li'),
  };

  await page.screenshot({ path: env('SCREENSHOT'), fullPage: true });
  out.html = await page.content();
} finally {
  await context.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
