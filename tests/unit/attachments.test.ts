import { describe, expect, it } from 'vitest';
import { filesToRead, kindOf, safeFileName, withoutImages } from '../../src/agent/attachments.js';
import { estimateRequestTokens, imageTokens } from '../../src/agent/model/tokens.js';
import type { ThreadMessage } from '../../src/jobs/ports.js';
import { threadFilesFrom } from '../../src/slack/slack-files.js';

describe('shared files', () => {
  it.each([
    ['screenshot.png', 'screenshot.png'],
    ['../../x.log', 'x.log'],
    ['.git/hooks/pre-commit', 'pre-commit'],
    ['..\\..\\windows.txt', 'windows.txt'],
    ['evil\n$(touch /tmp/m)\u0000name.log', 'm_name.log'],
    ['.bashrc', 'file-F1.bashrc'],
    ['--help.txt', 'help.txt'],
    ['..', 'file-F1'],
    ['スクリーンショット.PNG', 'file-F1.png'],
    ['a b c.csv', 'a_b_c.csv'],
  ])('saves %j as %j', (name, expected) => {
    expect(safeFileName(name, 'F1')).toBe(expected);
  });

  it('keeps long names within 100 characters, extension included', () => {
    const name = safeFileName(`${'a'.repeat(300)}.log`, 'F1');
    expect(name.length).toBeLessThanOrEqual(100);
    expect(name.endsWith('.log')).toBe(true);
  });

  it.each([
    [{ name: 'shot.png', mimetype: 'image/png' }, 'image'],
    [{ name: 'photo.heic', mimetype: 'image/heic' }, undefined],
    [{ name: 'app.log', mimetype: 'text/plain' }, 'text'],
    [{ name: 'orders.csv', mimetype: 'text/csv' }, 'text'],
    [{ name: 'fix.diff', mimetype: 'application/octet-stream', filetype: 'diff' }, 'text'],
    [{ name: 'data.json', mimetype: 'application/json' }, 'text'],
    [{ name: 'bundle.zip', mimetype: 'application/zip' }, undefined],
    [{ name: 'report.pdf', mimetype: 'application/pdf' }, undefined],
  ])('classifies %j as %s', (file, expected) => {
    expect(kindOf(file)).toBe(expected);
  });

  it('reads Slack file objects, dropping deleted and malformed ones', () => {
    expect(
      threadFilesFrom([
        {
          id: 'F1',
          name: 'a.log',
          mimetype: 'text/plain',
          size: 3,
          url_private_download: 'https://files.slack.com/x',
        },
        { id: 'F2', mode: 'tombstone' },
        { id: 'F3', file_access: 'check_file_info', mode: 'file_access' },
        { name: 'no id' },
        'junk',
      ]),
    ).toEqual([
      { id: 'F1', name: 'a.log', mimetype: 'text/plain', size: 3, url: 'https://files.slack.com/x' },
      { id: 'F3', name: 'F3' },
    ]);
    expect(threadFilesFrom(undefined)).toEqual([]);
  });

  it('reads files of people’s messages after the session, and the request’s own, once each', () => {
    const file = (id: string) => ({ id, name: `${id}.log` });
    const thread: ThreadMessage[] = [
      { ts: '1.000100', userId: 'U1', name: 'Alice', kind: 'person', text: '', files: [file('F0')] },
      { ts: '2.000100', userId: 'U1', name: 'Alice', kind: 'person', text: '', files: [file('F1')] },
      { ts: '3.000100', userId: 'UB', name: 'shipmate', kind: 'shipmate', text: '', files: [file('F2')] },
    ];
    expect(filesToRead(thread, '1.000100', [file('F1'), file('F3')])).toEqual([
      { file: file('F1'), sharedBy: 'Alice' },
      { file: file('F3'), sharedBy: 'the person asking' },
    ]);
  });

  it('keeps no image bytes in the session and counts an image as a fixed cost', () => {
    const url = `data:image/png;base64,${'A'.repeat(400_000)}`;
    const message = {
      role: 'user' as const,
      content: [
        { type: 'text' as const, text: 'look' },
        { type: 'image_url' as const, image_url: { url } },
      ],
    };
    expect(JSON.stringify(withoutImages([message]))).not.toContain('AAAA');
    expect(JSON.stringify(withoutImages([message]))).toContain('shown to you as image input');
    expect(estimateRequestTokens([message])).toBeLessThan(imageTokens + 100);
  });
});
