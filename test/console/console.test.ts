// The web console end to end in Debian's Chromium against the live service and a simulated fleet
// (issue #12): a wrong token is refused; sign in, select 3 instances by keyboard, run `getprop
// ro.product.model`, see 3 succeeded with their output; cancel a `sleep 60` (after following it
// more times than the browser has connections, so a stream left open would stall the page); the
// task list; paging through a fleet larger than a page; a token revoked mid-session; the operator
// view (create a tenant, add an instance, assign it, revoke the tenant's token). Screenshots of every page go to
// test-artifacts/console/. Needs `npm run build` (it drives the built console, as users get it).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startServiceHarness, until, type ServiceHarness } from '../support/index.js';
import { browserMissing, consoleBuildProblem, openConsoleBrowser, type ConsoleBrowser } from './browser.js';

const MODEL_COMMAND = 'getprop ro.product.model';

/** The element that has the keyboard focus, as "tag text". Evaluated in the page from a string: this
 * project's TypeScript has no DOM types. */
async function focused(page: Page): Promise<string> {
  return String(await page.evaluate("(e => e === null ? '' : `${e.tagName.toLowerCase()} ${e.textContent.trim()}`)(document.activeElement)"));
}

/** The jobs row of one instance on the task page. */
function jobRow(page: Page, instanceId: string) {
  return page.locator(`tr[data-instance="${instanceId}"]`);
}

describe('web console in Chromium', { skip: browserMissing() ?? false }, () => {
  let h: ServiceHarness;
  let b: ConsoleBrowser;
  let page: Page;

  before(async () => {
    const problem = consoleBuildProblem();
    if (problem !== null) throw new Error(problem);
    h = await startServiceHarness({ instances: 4 });
    b = await openConsoleBrowser(h.url);
    page = b.page;
  });

  after(async () => {
    await b?.close();
    await h?.close();
  });

  it('refuses a wrong token and says so', async () => {
    await page.goto(`${h.url}/console`);
    await page.getByLabel('Token', { exact: true }).fill('afk_not_a_real_token_000000000000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'refused this tenant token' }).waitFor();
    assert.match(await page.getByRole('alert').innerText(), /APIGW\.0301/);
    await b.shot('sign-in-refused');
    // The browser logs the refused request itself; that one is expected.
    assert.deepEqual(b.problems, ['console error: Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
    b.problems.length = 0;
  });

  it('signs in with the tenant token, kept in sessionStorage only, and lists the instances live', async () => {
    await page.getByLabel('Token', { exact: true }).fill(h.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Instances' }).waitFor();
    for (const id of h.ids) await page.getByLabel(`Select ${id}`).waitFor();
    // The health monitor reaches the simulated phones within a second or two; the page polls.
    await until('every instance shown as running', async () => (await page.locator('.badge', { hasText: 'running' }).count()) === h.ids.length, 30_000, 200);
    const storage = await page.evaluate('({ session: sessionStorage.length, local: localStorage.length })');
    assert.deepEqual(storage, { session: 1, local: 0 });
    assert.deepEqual(await b.context.cookies(), []);
    assert.ok(!page.url().includes(h.token), 'the token is not in the URL');
  });

  it('runs a command on 3 instances selected by keyboard and shows 3 succeeded with their output', async () => {
    const chosen = h.ids.slice(0, 3);
    for (const id of chosen) {
      await page.getByLabel(`Select ${id}`).focus();
      await page.keyboard.press('Space');
    }
    await page.getByRole('button', { name: 'Run on 3 selected' }).waitFor();
    await b.shot('instances');
    await page.getByLabel('Command', { exact: true }).fill(MODEL_COMMAND);
    await page.getByLabel('Timeout (seconds)').fill('60');
    await page.keyboard.press('Tab');
    assert.equal(await focused(page), 'button Run on 3 selected');
    await page.keyboard.press('Enter');

    await page.getByRole('heading', { name: /^Task / }).waitFor();
    await page.getByText('3 succeeded · finished').waitFor();
    const taskId = /\/console\/tasks\/([0-9a-f]{32})$/.exec(page.url())?.[1];
    assert.ok(taskId !== undefined, `a task page URL: ${page.url()}`);
    const jobs = (await h.call('GET', `/v1/instances/tasks/${taskId}`)).body.data.jobs as { instance_id: string; job_id: string }[];
    assert.deepEqual(jobs.map((j) => j.instance_id), chosen);
    for (const job of jobs) {
      const row = jobRow(page, job.instance_id);
      assert.equal(await row.locator('.badge').innerText(), 'succeeded');
      assert.equal(await row.locator('td').nth(2).innerText(), '0', 'exit code');
      await row.getByRole('button', { name: `Output of ${job.instance_id}` }).click();
      const output = (await h.call('GET', `/v1/instances/tasks/${taskId}/jobs/${job.job_id}/output`)).body.data.combined as string;
      assert.match(output, /^KooSim /);
      const viewer = page.getByLabel(`combined of ${job.instance_id}`);
      await viewer.filter({ hasText: output.trim() }).waitFor();
    }
    await b.shot('task');
  });

  it('lists the task', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tasks' }).click();
    await page.getByRole('heading', { name: 'Tasks' }).waitFor();
    await page.getByRole('row').filter({ hasText: MODEL_COMMAND }).filter({ hasText: '3 succeeded' }).waitFor();
    await b.shot('tasks');
  });

  it('cancels a running sleep 60', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Instances' }).click();
    const id = h.ids[3]!;
    await page.getByLabel(`Select ${id}`).check();
    await page.getByLabel('Command', { exact: true }).fill('sleep 60');
    await page.getByRole('button', { name: 'Run on 1 selected' }).click();
    await page.getByText('1 running').waitFor();
    const taskPath = new URL(page.url()).pathname;
    // Chromium opens at most 6 connections to a host: were the task's event stream not closed on
    // leaving the page, the seventh visit (and every request after it) would wait for ever.
    for (let visit = 0; visit < 7; visit++) {
      await page.getByRole('link', { name: 'All tasks' }).click();
      await page.getByRole('heading', { name: 'Tasks' }).waitFor();
      await page.getByRole('link', { name: taskPath.slice('/console/tasks/'.length) }).click();
      await page.getByText('1 running').waitFor();
    }
    await page.getByRole('button', { name: 'Cancel task' }).click();
    await page.getByText('1 cancelled · finished').waitFor();
    const taskId = /\/tasks\/([0-9a-f]{32})$/.exec(page.url())?.[1] ?? '';
    const [job] = await h.waitTask(taskId);
    assert.equal(job?.state, 'cancelled');
    assert.equal(job?.error_code, 'KOOPHONE.JOB.1004');
    assert.equal(await jobRow(page, id).locator('td').nth(3).innerText(), `KOOPHONE.JOB.1004 ${job?.error_msg}`);
    await b.shot('task-cancelled');
  });

  it('reboots an instance and follows its status back to running', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Instances' }).click();
    const id = h.ids[3]!;
    await page.getByLabel(`Select ${id}`).check();
    await page.getByRole('button', { name: 'Reboot selected' }).click();
    await page.getByRole('status').filter({ hasText: 'Rebooting 1 instance' }).waitFor();
    const badge = page.getByRole('row').filter({ has: page.getByLabel(`Select ${id}`) }).locator('.badge');
    await badge.filter({ hasText: 'starting' }).waitFor();
    await badge.filter({ hasText: 'running' }).waitFor();
  });

  it('pages through a fleet larger than a page, keeping the selection, and filters by name on the service', async () => {
    // 60 more instances (unreachable: status does not matter here), so 64 in all: two pages of 50.
    const extra = Array.from({ length: 60 }, (_, i) => `page-${String(i).padStart(2, '0')}`);
    const bulk = await h.admin('POST', '/instances/bulk', {
      instances: extra.map((id) => ({ instance_id: id, adb_address: '127.0.0.1:1', tenant_id: h.tenantId })),
    });
    assert.equal(bulk.status, 200, JSON.stringify(bulk.body));
    try {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tasks' }).click();
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Instances' }).click();
      const pager = page.getByRole('navigation', { name: 'Instance pages' });
      await pager.getByText('Page 1 of 2').waitFor();
      await page.getByText('64 instances').waitFor();
      const checkboxes = page.locator('tbody input[type=checkbox]');
      assert.equal(await checkboxes.count(), 50);
      await page.getByLabel('Select e2e-0').check();
      await pager.getByRole('button', { name: 'Next page' }).click();
      await pager.getByText('Page 2 of 2').waitFor();
      await page.getByLabel('Select page-59').check();
      assert.equal(await checkboxes.count(), 14);
      await page.getByRole('button', { name: 'Run on 2 selected' }).waitFor();
      await pager.getByRole('button', { name: 'Previous page' }).click();
      await pager.getByText('Page 1 of 2').waitFor();
      assert.equal(await page.getByLabel('Select e2e-0').isChecked(), true, 'the selection survives paging');

      await page.getByLabel('Name contains').fill('page-5');
      await until('only the ten page-5x instances shown', async () => (await checkboxes.count()) === 10 && (await page.getByText('10 instances').count()) === 1, 30_000, 100);
      assert.equal(await pager.count(), 0, 'one page: no pager');
      await b.shot('instances-filtered');
      await page.getByLabel('Name contains').fill('');
      await page.getByRole('button', { name: 'Clear selection' }).click();
      await page.getByRole('button', { name: 'Run (select instances first)' }).waitFor();
    } finally {
      for (const id of extra) await h.admin('DELETE', `/instances/${id}`);
    }
  });

  it('a token revoked mid-session signs out and says why', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    const issued = await h.admin('POST', `/tenants/${h.tenantId}/tokens`);
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    await page.getByLabel('Token', { exact: true }).fill(issued.body.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Instances' }).waitFor();

    const revoked = await h.admin('DELETE', `/tenants/${h.tenantId}/tokens/${issued.body.prefix}`);
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    // The next request is refused: the move to Tasks, or the instances page's own poll (every 5 s),
    // whichever comes first. Once the poll has signed the tab out the link is gone, so a click
    // that finds no link is not a failure; the alert below is what must appear.
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Tasks' })
      .click({ timeout: 5_000 })
      .catch(() => {});
    await page.getByRole('alert').filter({ hasText: 'no longer accepts this token' }).waitFor();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    assert.equal(await page.evaluate('sessionStorage.length'), 0, 'the refused token is forgotten');
    await b.shot('signed-out-revoked');
    // The browser logs the refused request itself; that one is expected.
    const unexpected = b.problems.filter((p) => !p.includes('status of 401 (Unauthorized)'));
    assert.deepEqual(unexpected, []);
    b.problems.length = 0;
  });

  it('operator view: creates a tenant, adds an instance and assigns it', async () => {
    await page.getByLabel('Operator (admin token)').check();
    await page.getByLabel('Token', { exact: true }).fill(h.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Operator' }).waitFor();

    await page.getByLabel('New tenant name').fill('acme');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    const token = await page.locator('code.token').innerText();
    assert.match(token, /^afk_/);
    await page.getByRole('cell', { name: 'acme', exact: true }).waitFor();

    await page.getByLabel('Instance id').fill('extra-1');
    await page.getByLabel('ADB address').fill('127.0.0.1:1');
    await page.getByLabel('Zone').fill('lab-2');
    await page.getByRole('button', { name: 'Add instance' }).click();
    await page.getByText('Added extra-1.').waitFor();
    await page.getByLabel('Tenant of extra-1').selectOption({ label: 'acme' });
    await page.getByText('extra-1 assigned.').waitFor();
    await b.shot('operator');

    const tenants = (await h.admin('GET', '/tenants')).body.tenants as { tenant_id: string; name: string }[];
    const acme = tenants.find((t) => t.name === 'acme');
    const instances = (await h.admin('GET', '/instances')).body.instances as { instance_id: string; tenant_id: string | null; zone: string }[];
    assert.deepEqual(
      instances.filter((i) => i.instance_id === 'extra-1').map((i) => [i.tenant_id, i.zone]),
      [[acme?.tenant_id, 'lab-2']],
    );
    // The new tenant's token works: it sees the instance it was given.
    const seen = await fetch(`${h.url}/v1/instances/batch-query?page_no=1&page_size=10`, { headers: { 'x-auth-token': token, 'x-request-id': 'console-test' } });
    assert.deepEqual(((await seen.json()) as { data: { result: { instance_id: string }[] } }).data.result.map((r) => r.instance_id), ['extra-1']);

    // Revoked here by its prefix, the console says so and the service refuses the token from then on.
    await page.getByLabel('Revoke a token of').selectOption({ label: 'acme' });
    await page.getByLabel('Token prefix').fill(token.slice(0, 12));
    await page.getByRole('button', { name: 'Revoke', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'Revoked 1 token.' }).waitFor();
    const refused = await fetch(`${h.url}/v1/instances/batch-query?page_no=1&page_size=10`, { headers: { 'x-auth-token': token, 'x-request-id': 'console-test-2' } });
    assert.equal(refused.status, 401);
  });

  it('loaded nothing from elsewhere and logged no error', () => {
    assert.deepEqual(b.problems, []);
  });
});
