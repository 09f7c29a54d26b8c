// Opens the demo's GraphiQL page in headless Chromium with every request off loopback refused
// (so the page must work with no CDN), finds the demo token already in the Headers tab and
// nothing refused, runs the example query at the first click, then a typed
// `products(filter: {expiringBefore: …})` query, checks the result pane shows products, and
// saves a screenshot; then runs a subscription, has the sample upstream rename its customer,
// and waits for the pane to show the new name; last, opens the page of a gateway that is not
// the demo and finds the placeholder, and no token, in it.
//
// Environment: GATEWAY_URL (…/graphql), GATEWAY_TOKEN, UPSTREAM_URL (the sample upstream),
// NORMAL_URL (…/graphql of a gateway started without --demo),
// SCREENSHOT (a PNG path), CHROMIUM (default /usr/bin/chromium).
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const url = process.env.GATEWAY_URL;
const token = process.env.GATEWAY_TOKEN;
const screenshot = process.env.SCREENSHOT ?? 'graphiql.png';
assert.ok(url && token, 'GATEWAY_URL and GATEWAY_TOKEN are required');

const query = `query ExpiringSoon {
  products(filter: { expiringBefore: "2027-06-30T00:00:00Z" }) {
    service
    expirationDate
    customer { organization }
  }
}
`;

/** The visible editor of the tools pane (the Headers tab the page opens with). */
const HEADERS = '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror';

// Playwright gives each launch a new, empty profile directory.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const offLoopback = [];
  const problems = [];
  await page.route('**/*', (route) => {
    const { hostname } = new URL(route.request().url());
    if (hostname === '127.0.0.1' || hostname === 'localhost') {
      return route.continue();
    }
    offLoopback.push(route.request().url());
    return route.abort();
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && message.text().includes('Content Security Policy')) {
      problems.push(`console error: ${message.text()}`);
    }
  });
  // The demo page carries its token: nothing GraphiQL sends (its introspection first) is refused.
  page.on('response', (response) => {
    if (new URL(response.url()).pathname === '/graphql' && response.status() === 401) {
      problems.push(`refused: ${response.request().method()} ${response.url()}`);
    }
  });

  await page.goto(url);
  await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: 30_000 });

  // The demo page opens with the demo's token in the Headers tab: the example query runs at
  // the first click.
  const headers = await editorText(page, HEADERS);
  assert.match(headers, new RegExp(`"Authorization": "Bearer ${token.replaceAll('.', '\\.')}"`));
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(
    () => document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue().includes('"data"'),
    null,
    { timeout: 30_000 },
  );
  const example = JSON.parse(await editorText(page, '.graphiql-response .CodeMirror'));
  assert.equal(example.errors, undefined, `the example query: ${JSON.stringify(example.errors)}`);
  assert.ok(Array.isArray(example.data.products), 'the example query shows data');

  // Then a query typed in, the way a person would.
  await setEditor(page, '.graphiql-query-editor .CodeMirror', query);
  await page.waitForFunction(
    () => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.operationName === 'ExpiringSoon',
  );
  await page.click('.graphiql-execute-button');

  await page.waitForFunction(
    () => document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue().includes('"service"'),
    null,
    { timeout: 30_000 },
  );
  const result = JSON.parse(await editorText(page, '.graphiql-response .CodeMirror'));
  assert.equal(result.errors, undefined, `errors in the result: ${JSON.stringify(result.errors)}`);
  const products = result.data.products;
  assert.ok(products.length > 0, 'the result lists products');
  for (const product of products) {
    assert.ok(product.expirationDate < '2027-06-30', `${product.expirationDate} is before the filter date`);
    assert.ok(product.customer, 'each product names its customer');
  }
  await page.screenshot({ path: screenshot });
  await subscription(page);
  await normalPage(browser);
  assert.deepEqual(offLoopback, [], 'the page asked for nothing beyond the gateway');
  assert.deepEqual(problems, [], 'no errors in the page');
  console.log(`GraphiQL ran the query: ${products.length} products; screenshot ${screenshot}`);
} finally {
  await browser.close();
}

/** A gateway that is not the demo opens GraphiQL with the placeholder, never a token. */
async function normalPage(browser) {
  const normal = process.env.NORMAL_URL;
  assert.ok(normal, 'NORMAL_URL is required');
  const page = await browser.newPage();
  await page.goto(normal);
  await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: 30_000 });
  const headers = await editorText(page, HEADERS);
  assert.match(headers, /"Authorization": "Bearer <paste your token here>"/);
  assert.doesNotMatch(await page.content(), /data-headers|Bearer ey/);
  console.log('the page of a gateway that is not the demo carries no token');
}

/** Runs a subscription in GraphiQL and waits for the change the upstream makes to show. */
async function subscription(page) {
  const upstream = process.env.UPSTREAM_URL;
  assert.ok(upstream, 'UPSTREAM_URL is required');
  const listing = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ customers(first: 1) { nodes { id } } }' }),
  }).then((response) => response.json());
  const id = listing.data.customers.nodes[0].id;
  await setEditor(
    page,
    '.graphiql-query-editor .CodeMirror',
    `subscription Live { customer(id: "${id}") { id organization } }`,
  );
  // GraphiQL reads the operation's name from the editor a moment after an edit.
  await page.waitForFunction(
    () => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.operationName === 'Live',
  );
  await page.click('.graphiql-execute-button');
  const shows = async (text) => {
    try {
      await page.waitForFunction(
        (wanted) => document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue().includes(wanted),
        text,
        { timeout: 30_000 },
      );
    } catch (error) {
      const pane = await editorText(page, '.graphiql-response .CodeMirror');
      throw new Error(`the result pane never showed ${text}; it shows: ${pane}`, { cause: error });
    }
  };
  await shows(id);
  const renamed = 'Renamed While Watched Ltd';
  const put = await fetch(`${upstream}/__mock/customers/${id}/organization`, { method: 'PUT', body: renamed });
  assert.equal(put.status, 204);
  await shows(renamed);
  console.log('GraphiQL ran a subscription and showed the change');
}

async function editorText(page, selector) {
  return page.$eval(selector, (element) => element.CodeMirror.getValue());
}

async function setEditor(page, selector, text) {
  await page.click(selector);
  await page.$eval(selector, (element, value) => element.CodeMirror.setValue(value), text);
}
