import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Config, loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { JobQueue } from '../../src/jobs/job-queue.js';
import type { Notifier, Reply } from '../../src/jobs/ports.js';
import { ThreadStore } from '../../src/jobs/thread-store.js';
import type { ToolContext } from '../../src/jobs/tools.js';
import type { WorkerPool } from '../../src/jobs/worker-pool.js';
import type { Logger } from '../../src/log.js';
import { GrantStore } from '../../src/permissions/grant-store.js';
import { networkAccess } from '../../src/permissions/network-access.js';
import { createPermissionActions } from '../../src/permissions/permission-actions.js';
import { createRequestNetworkAccessTool } from '../../src/permissions/request-network-access.js';
import { refuseReason, staticRefuseReason } from '../../src/workspace/network-address.js';
import { describeBackends } from '../support/backends.js';

/** DNS as the tests want it: names resolve only to what the table says; nothing leaves the machine. */
const dns: Record<string, string[]> = {
  'rebind.example.com': ['127.0.0.1'],
  'intranet.example.com': ['10.20.30.40'],
  'printer.example.net': ['192.168.1.20'],
  'carrier.example.net': ['100.64.3.4'],
  'imds.example.org': ['169.254.169.254'],
  'v6-loop.example.org': ['::1'],
  'v6-ula.example.org': ['fd12:3456::1'],
  'v6-mapped.example.org': ['::ffff:10.0.0.1'],
  'mixed.example.org': ['93.184.215.14', '172.16.5.5'],
  'registry.npmjs.org': ['104.16.0.35', '2606:4700::6810:23'],
  'github.com': ['140.82.121.4'],
};
const resolve = async (host: string) => {
  const answer = dns[host];
  if (!answer) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return answer;
};
const noOwnAddresses = () => [];
const check = (entry: string) => refuseReason(entry, resolve, noOwnAddresses);

const loopback =
  /^it is a loopback address on the shipmate server itself, which the sandbox never reaches\.$/;

describe('hosts a network grant may never open', () => {
  it.each([
    // loopback
    ['127.0.0.1', loopback],
    ['127.0.0.1:8080', loopback],
    ['127.255.10.1', loopback],
    ['::1', loopback],
    ['[::1]:443', loopback],
    ['localhost', /names the shipmate server itself \(loopback\)/],
    ['LOCALHOST.', /names the shipmate server itself \(loopback\)/],
    ['api.localhost:3000', /names the shipmate server itself \(loopback\)/],
    ['*.localhost', /names the shipmate server itself \(loopback\)/],
    // private, CGNAT
    ['10.0.0.1', /a private network address/],
    ['172.16.0.1', /a private network address/],
    ['172.31.255.254', /a private network address/],
    ['192.168.1.1:22', /a private network address/],
    ['100.64.0.1', /a shared carrier-grade NAT address/],
    ['100.127.255.254', /a shared carrier-grade NAT address/],
    // link-local and metadata
    ['169.254.169.254', /a link-local address \(where cloud servers serve metadata and credentials\)/],
    ['169.254.0.1:80', /a link-local address/],
    ['fe80::1', /a link-local address/],
    ['[fe80::1%25eth0]', /a link-local address/],
    ['fe80::1%eth0', /a link-local address/],
    ['168.63.129.16', /a cloud metadata address/],
    ['100.100.100.200', /a cloud metadata address/],
    ['[fd00:ec2::254]', /a cloud metadata address/],
    ['metadata.google.internal', /a cloud metadata name/],
    ['metadata.google.internal.', /a cloud metadata name/],
    ['metadata', /a cloud metadata name/],
    ['instance-data', /a cloud metadata name/],
    ['instance-data.ec2.internal', /a private-use name \(\.internal\)/],
    ['*.internal', /a private-use name \(\.internal\)/],
    ['nas.local', /a private-use name \(\.local\)/],
    ['db', /a single-label name/],
    // unique-local, unspecified, multicast, broadcast
    ['fc00::1', /a unique-local IPv6 address/],
    ['[fd12:3456::1]:8080', /a unique-local IPv6 address/],
    ['0.0.0.0', /the unspecified address/],
    ['0.0.0.0:3000', /the unspecified address/],
    ['::', /the unspecified address/],
    ['[::]:80', /the unspecified address/],
    ['224.0.0.251', /a multicast address/],
    ['239.255.255.250:1900', /a multicast address/],
    ['ff02::1', /a multicast address/],
    ['255.255.255.255', /a broadcast or reserved address/],
    ['240.0.0.1', /a broadcast or reserved address/],
    // IPv4-mapped and other IPv6 carriers of an IPv4 address
    ['::ffff:127.0.0.1', /an IPv6 form of 127\.0\.0\.1, a loopback address/],
    ['[::ffff:7f00:1]:8080', /an IPv6 form of 127\.0\.0\.1, a loopback address/],
    ['0:0:0:0:0:ffff:7f00:1', /an IPv6 form of 127\.0\.0\.1, a loopback address/],
    ['::ffff:169.254.169.254', /an IPv6 form of 169\.254\.169\.254, a link-local address/],
    ['::ffff:a00:1', /an IPv6 form of 10\.0\.0\.1, a private network address/],
    ['::ffff:192.168.0.1', /an IPv6 form of 192\.168\.0\.1, a private network address/],
    ['64:ff9b::a9fe:a9fe', /an IPv6 form of 169\.254\.169\.254/],
    ['2002:7f00:1::1', /an IPv6 form of 127\.0\.0\.1/],
    ['::7f00:1', /an IPv6 form of 127\.0\.0\.1/],
    // odd IPv4 spellings, read the way inet_aton (and curl) read them
    ['2130706433', /another way to write 127\.0\.0\.1, a loopback address/],
    ['0x7f.1', /another way to write 127\.0\.0\.1, a loopback address/],
    ['0x7f000001', /another way to write 127\.0\.0\.1/],
    ['0177.0.0.1', /another way to write 127\.0\.0\.1/],
    ['127.1', /another way to write 127\.0\.0\.1/],
    ['127.0.1:8080', /another way to write 127\.0\.0\.1/],
    ['0', /another way to write 0\.0\.0\.0, the unspecified address/],
    ['2852039166', /another way to write 169\.254\.169\.254, a link-local address/],
    ['0xa9.0xfe.0xa9.0xfe', /another way to write 169\.254\.169\.254/],
    ['012.0.0.1', /another way to write 10\.0\.0\.1, a private network address/],
    ['0x08080808', /an unusual way to write 8\.8\.8\.8; use 8\.8\.8\.8 itself/],
    // Unicode look-alikes fold to what they mean
    ['ｌｏｃａｌｈｏｓｔ', /names the shipmate server itself/],
    // anything that is not a plain host
    ['user@127.0.0.1', /not a host name or address I can check/],
    ['http://127.0.0.1', /not a host name or address I can check/],
    ['127.0.0.1/admin', /not a host name or address I can check/],
    ['foo.123', /not a host name or address I can check/],
    ['example.com:', /not a host name or address I can check/],
    ['[::1', /not a host name or address I can check/],
  ])('refuses %s', async (entry, reason) => {
    expect(await check(entry)).toMatch(reason);
    expect(staticRefuseReason(entry, noOwnAddresses)).toMatch(reason);
  });

  it.each([
    ['rebind.example.com', /^it resolves to a loopback address on the shipmate server itself/],
    ['rebind.example.com:443', /^it resolves to a loopback address/],
    ['intranet.example.com', /^it resolves to a private network address/],
    ['printer.example.net', /^it resolves to a private network address/],
    ['carrier.example.net', /^it resolves to a shared carrier-grade NAT address/],
    ['imds.example.org', /^it resolves to a link-local address/],
    ['v6-loop.example.org', /^it resolves to a loopback address/],
    ['v6-ula.example.org', /^it resolves to a unique-local IPv6 address/],
    ['v6-mapped.example.org', /^it resolves to a private network address/],
    ['mixed.example.org', /^it resolves to a private network address/],
    ['Intranet.Example.COM.', /^it resolves to a private network address/],
  ])('refuses %s, which resolves inside', async (entry, reason) => {
    expect(await check(entry)).toMatch(reason);
    // The resolved address itself stays out of the sentence: it goes back to the model.
    expect(await check(entry)).not.toMatch(/\d+\.\d+\.\d+\.\d+|::/);
    // Without DNS there is nothing to hold against the name.
    expect(staticRefuseReason(entry, noOwnAddresses)).toBeUndefined();
  });

  it.each([
    'registry.npmjs.org',
    'registry.npmjs.org:443',
    'github.com',
    'GitHub.com',
    '*.example.com',
    '*.npmjs.org:443',
    '8.8.8.8',
    '93.184.215.14:8080',
    '172.32.0.1',
    '100.128.0.1',
    '203.0.113.7:8080',
    '2606:4700:4700::1111',
    '[2606:4700:4700::1111]:443',
    '::ffff:8.8.8.8',
    'unknown.example.com',
  ])('allows %s', async (entry) => {
    expect(await check(entry)).toBeUndefined();
  });

  it('refuses this server’s own addresses, literal or resolved', async () => {
    const own = () => ['198.51.100.20', '2001:db8::20', '127.0.0.1'];
    const ownDns = async () => ['198.51.100.20'];
    expect(await refuseReason('198.51.100.20:8080', resolve, own)).toBe(
      "it is one of the shipmate server's own addresses, which the sandbox never reaches.",
    );
    expect(await refuseReason('[2001:db8::20]', resolve, own)).toMatch(/server's own addresses/);
    expect(await refuseReason('::ffff:198.51.100.20', resolve, own)).toMatch(/server's own addresses/);
    expect(await refuseReason('me.example.com', ownDns, own)).toBe(
      "it resolves to one of the shipmate server's own addresses, which the sandbox never reaches.",
    );
    expect(await refuseReason('198.51.100.21', resolve, own)).toBeUndefined();
  });

  it('does not look up literals, wildcards or names refused by their spelling', async () => {
    const lookup = vi.fn(resolve);
    for (const entry of ['127.0.0.1', '8.8.8.8', '[::1]', '*.example.com', 'localhost', 'metadata']) {
      await refuseReason(entry, lookup, noOwnAddresses);
    }
    expect(lookup).not.toHaveBeenCalled();
    await refuseReason('github.com:443', lookup, noOwnAddresses);
    expect(lookup).toHaveBeenCalledWith('github.com');
  });

  describe('with a resolver that never answers', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('gives up after a few seconds instead of holding the tool call', async () => {
      vi.useFakeTimers();
      const pending = refuseReason('slow.example.com', () => new Promise<string[]>(() => {}), noOwnAddresses);
      await vi.advanceTimersByTimeAsync(5_000);
      await expect(pending).resolves.toBeUndefined();
    });
  });
});

describe('request_network_access', () => {
  const request = createRequestNetworkAccessTool((domain) => refuseReason(domain, resolve, noOwnAddresses));
  const run = async (domain: string, ask = vi.fn()) => {
    const context = { ask } as unknown as ToolContext;
    const parsed = request.schema.safeParse({ domain, reason: 'to read the price list' });
    if (!parsed.success) return { text: `invalid: ${parsed.error.issues[0]?.message}`, ask };
    return { text: await request.run(parsed.data, context), ask };
  };

  it('answers the model with the reason, and asks nobody', async () => {
    const { text, ask } = await run('127.0.0.1');
    expect(text).toBe(
      "I can't ask for access to 127.0.0.1: it is a loopback address on the shipmate server itself, which the sandbox never reaches. Do the task without it, and tell the person in one sentence why that host is out of reach.",
    );
    expect(ask).not.toHaveBeenCalled();
  });

  it.each([
    ['169.254.169.254', /^I can't ask for access to 169\.254\.169\.254: it is a link-local address/],
    [
      'metadata.google.internal',
      /^I can't ask for access to metadata\.google\.internal: it is a cloud metadata name/,
    ],
    ['localhost:8080', /^I can't ask for access to localhost:8080: it names the shipmate server itself/],
    [
      '[::ffff:7f00:1]:80',
      /^I can't ask for access to \[::ffff:7f00:1\]:80: it is an IPv6 form of 127\.0\.0\.1/,
    ],
    ['2130706433', /another way to write 127\.0\.0\.1/],
    ['0x7f.1', /another way to write 127\.0\.0\.1/],
    [
      'intranet.example.com',
      /^I can't ask for access to intranet\.example\.com: it resolves to a private network address/,
    ],
    ['::1', /^invalid: a host name or address, optionally with :port \(IPv6 in \[brackets\]\)/],
  ])('refuses %s', async (domain, text) => {
    const result = await run(domain);
    expect(result.text).toMatch(text);
    expect(result.ask).not.toHaveBeenCalled();
  });

  it.each(['registry.npmjs.org', 'Registry.NPMJS.org:443', '203.0.113.7:8080', '[2606:4700:4700::1111]:443'])(
    'asks in the thread for %s',
    async (domain) => {
      const { text, ask } = await run(domain);
      expect(text).toMatch(/^Asked in the thread for access to /);
      expect(ask).toHaveBeenCalledWith({
        permission: 'network',
        subject: domain.toLowerCase(),
        reason: 'to read the price list',
      });
    },
  );
});

describeBackends('grants stored for a repository', (open) => {
  it('keeps the first answer for a domain and lists each repository’s own domains in order', async () => {
    let now = 1_000;
    const grants = new GrantStore(await open(), () => now);
    await grants.grant('shop', 'registry.npmjs.org', 'U0ALICE');
    now = 2_000;
    await grants.grant('shop', 'registry.npmjs.org', 'U0BOB');
    await grants.grant('shop', 'files.pythonhosted.org', 'U0BOB');
    await grants.grant('docs', 'github.com', 'U0ALICE');
    expect(await grants.domainsFor('shop')).toEqual(['files.pythonhosted.org', 'registry.npmjs.org']);
    expect(await grants.domainsFor('docs')).toEqual(['github.com']);
    expect(await grants.domainsFor('api')).toEqual([]);
    expect(await grants.all()).toEqual([
      { repo: 'docs', domain: 'github.com', grantedBy: 'U0ALICE', grantedAt: 2_000 },
      { repo: 'shop', domain: 'files.pythonhosted.org', grantedBy: 'U0BOB', grantedAt: 2_000 },
      { repo: 'shop', domain: 'registry.npmjs.org', grantedBy: 'U0ALICE', grantedAt: 1_000 },
    ]);
  });
});

describeBackends('Allow on a stored question for a refused host', (open) => {
  async function setUp() {
    const db = await open();
    const queue = new JobQueue(db);
    const threads = new ThreadStore(db);
    const grants = new GrantStore(db);
    const replies: string[] = [];
    const notifier = {
      reply: async (_thread: unknown, reply: Reply) => {
        replies.push(reply.markdown);
        return undefined;
      },
    } as unknown as Notifier;
    const pool = { kick: vi.fn() } as unknown as WorkerPool;
    const log = { info: vi.fn(), warn: vi.fn() } as unknown as Logger;
    const config = { access: { writers: ['U0ALICE'] } } as unknown as Config;
    const job = await queue.enqueue({
      kind: 'agent',
      channel: 'C0SHOP',
      threadTs: '1.0',
      messageTs: '1.0',
      userId: 'U0BOB',
      payload: { text: 'what does the price list say?', asked: ['127.0.0.1:8080'] },
    });
    await queue.park(job.id, Date.now() + 60_000);
    await threads.setRepo('C0SHOP', '1.0', 'shop');
    const actions = createPermissionActions({
      config,
      queue,
      pool,
      threads,
      grants,
      notifier,
      log,
      refuse: (domain) => refuseReason(domain, resolve, noOwnAddresses),
    });
    const click = (actionId: 'perm_once' | 'perm_always' | 'perm_deny', domain: string) =>
      actions[actionId]({
        actionId,
        value: `${job.id}|${domain}`,
        user: 'U0ALICE',
        channel: 'C0SHOP',
        messageTs: '1.1',
        threadTs: '1.0',
        triggerId: undefined,
      });
    return { queue, grants, replies, job, click };
  }

  it.each([
    ['perm_once', '127.0.0.1:8080'],
    ['perm_always', '127.0.0.1:8080'],
    ['perm_always', '169.254.169.254'],
    ['perm_once', 'rebind.example.com'],
  ] as const)('%s on %s refuses in the thread and grants nothing', async (actionId, domain) => {
    const { queue, grants, replies, job, click } = await setUp();
    await click(actionId, domain);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatch(
      new RegExp(`^I can't allow \`${domain.replaceAll('.', '\\.')}\`: it .+ Continuing without it\\.$`),
    );
    expect(await grants.all()).toEqual([]);
    const after = (await queue.get(job.id, 'agent'))!;
    expect(after.payload.grants).toBeUndefined();
    expect(after.payload.denied).toEqual([domain]);
    expect(after.status).toBe('queued');
  });

  it('still grants a public host', async () => {
    const { grants, replies, click } = await setUp();
    await click('perm_always', 'registry.npmjs.org');
    expect((await grants.all()).map((grant) => grant.domain)).toEqual(['registry.npmjs.org']);
    expect(replies[0]).toMatch(/allowed `registry\.npmjs\.org` for \*shop\* from now on/);
  });
});

describe('grants given before the check existed', () => {
  it('never reach a command, and the model is told not to ask again', async () => {
    const access = await networkAccess(
      { grants: ['169.254.169.254', 'registry.npmjs.org'], asked: ['169.254.169.254'] },
      ['127.0.0.1:8080', 'rebind.example.com', 'github.com'],
      (domain) => refuseReason(domain, resolve, noOwnAddresses),
    );
    expect(access.allowed.sort()).toEqual(['github.com', 'registry.npmjs.org']);
    expect(access.answered).toEqual(
      expect.arrayContaining(['169.254.169.254', '127.0.0.1:8080', 'rebind.example.com']),
    );
    const notes = access.notes.join('\n');
    expect(notes).toContain('Network access to 127.0.0.1:8080 is never allowed');
    expect(notes).toContain('Network access to rebind.example.com is never allowed');
    expect(notes).not.toMatch(/Commands may now reach (127\.0\.0\.1|169\.254|rebind)/);
    expect(notes).not.toContain('Nobody allowed network access to 169.254.169.254');
  });
});

describe('allowedDomains in the config file', () => {
  const slack = { SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_SIGNING_SECRET: 'secret' };
  const configWith = (domains: string) => {
    const file = join(mkdtempSync(join(tmpdir(), 'shipmate-config-')), 'shipmate.yaml');
    writeFileSync(file, `repos:\n  - name: shop\n    url: /srv/shop\n    allowedDomains: ${domains}\n`);
    return file;
  };
  const problemsFor = (file: string) => {
    try {
      loadConfig({ ...slack, SHIPMATE_CONFIG: file });
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
  };

  it('names the file and the key of every refused entry', () => {
    const file = configWith(
      '[registry.npmjs.org, "127.0.0.1:8080", "*.example.com", metadata.google.internal, "0x7f.1", "[::ffff:7f00:1]"]',
    );
    expect(problemsFor(file)).toEqual([
      `${file}: repos.0.allowedDomains.1: cannot allow "127.0.0.1:8080": it is a loopback address on the shipmate server itself, which the sandbox never reaches.`,
      `${file}: repos.0.allowedDomains.3: cannot allow "metadata.google.internal": it is a cloud metadata name that hands out the server's credentials, which the sandbox never reaches.`,
      `${file}: repos.0.allowedDomains.4: cannot allow "0x7f.1": it is another way to write 127.0.0.1, a loopback address on the shipmate server itself, which the sandbox never reaches.`,
      `${file}: repos.0.allowedDomains.5: cannot allow "[::ffff:7f00:1]": it is an IPv6 form of 127.0.0.1, a loopback address on the shipmate server itself, which the sandbox never reaches.`,
    ]);
  });

  it('keeps public names, ports and wildcards', () => {
    const file = configWith('[registry.npmjs.org, "github.com:443", "*.example.com", "8.8.8.8"]');
    expect(loadConfig({ ...slack, SHIPMATE_CONFIG: file }).repos[0]?.allowedDomains).toEqual([
      'registry.npmjs.org',
      'github.com:443',
      '*.example.com',
      '8.8.8.8',
    ]);
  });
});
