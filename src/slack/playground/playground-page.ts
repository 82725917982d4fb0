import { createHash } from 'node:crypto';
import { clientScript } from './playground-client.js';
import { markdownScript } from './playground-markdown.js';

/**
 * The playground page: one HTML document with inline CSS and JS, no framework, nothing fetched
 * from anywhere but this origin. The Content-Security-Policy allows exactly this one script (by
 * hash) and connections to this origin only, so even a renderer bug cannot run injected script
 * or reach Slack or any other host.
 */
const script = `${markdownScript}\n${clientScript}`;
const scriptHash = createHash('sha256').update(script).digest('base64');

export const playgroundCsp = [
  "default-src 'none'",
  `script-src 'sha256-${scriptHash}'`,
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const styles = `
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.46 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1d1c1d; display: grid; grid-template-columns: 230px 1fr auto; height: 100vh; }
  nav { background: #3f0e40; color: #d7c7d8; padding: 12px 0; overflow-y: auto; display: flex; flex-direction: column; }
  nav h1 { font-size: 17px; margin: 0 16px 14px; color: #fff; }
  nav h2 { font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; margin: 14px 16px 4px; color: #b9a3ba; }
  nav button { display: block; width: 100%; text-align: left; background: none; border: 0; color: inherit; padding: 4px 16px; font: inherit; cursor: pointer; }
  nav button:hover { background: #350d36; }
  nav button.active { background: #1164a3; color: #fff; }
  nav label { margin: auto 16px 0; font-size: 13px; }
  nav select { display: block; width: 100%; margin-top: 4px; font: inherit; }
  main, aside { display: flex; flex-direction: column; min-width: 0; height: 100vh; }
  aside { width: 440px; border-left: 1px solid #ddd; }
  aside[hidden] { display: none; }
  header { padding: 12px 16px; border-bottom: 1px solid #ddd; font-weight: 700; display: flex; justify-content: space-between; align-items: center; }
  header button { border: 0; background: none; font-size: 20px; line-height: 1; cursor: pointer; }
  #notice { background: #fff4d6; border-bottom: 1px solid #ecd9a0; padding: 6px 16px; font-size: 13px; }
  .messages { flex: 1; overflow-y: auto; padding: 8px 0; }
  .message { padding: 6px 16px; display: flex; gap: 10px; }
  .message:hover { background: #f8f8f8; }
  .avatar { flex: none; width: 34px; height: 34px; border-radius: 6px; background: #e8912d; color: #fff; font-weight: 700; display: grid; place-items: center; }
  .bot .avatar { background: #2eb67d; }
  .content { min-width: 0; flex: 1; }
  .who { font-weight: 700; margin-right: 6px; }
  .time { color: #616061; font-size: 12px; }
  .bot .who::after { content: "APP"; font-size: 10px; background: #e8e8e8; color: #555; border-radius: 3px; padding: 0 3px; margin-left: 4px; font-weight: 600; vertical-align: 1px; }
  .context { color: #616061; font-size: 13px; margin: 2px 0; }
  .mention { color: #1264a3; background: #e8f5fa; border-radius: 3px; padding: 0 2px; font-weight: 600; }
  .actions { margin: 6px 0 2px; display: flex; gap: 6px; flex-wrap: wrap; }
  .actions button, dialog button { border: 1px solid #bbb; background: #fff; border-radius: 4px; padding: 4px 12px; font: inherit; font-size: 13px; font-weight: 600; cursor: pointer; }
  .actions button:disabled { opacity: .5; cursor: default; }
  button.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
  button.danger { color: #e01e5a; border-color: #e01e5a; }
  .reactions span { display: inline-block; border: 1px solid #1d9bd1; background: #e8f5fa; border-radius: 12px; padding: 0 7px; font-size: 12px; margin: 4px 4px 0 0; }
  .replies { color: #1264a3; font-size: 13px; cursor: pointer; margin-top: 2px; background: none; border: 0; padding: 0; font-weight: 600; font-family: inherit; }
  pre { background: #f8f8f8; border: 1px solid #ddd; border-radius: 4px; padding: 8px; overflow-x: auto; font-size: 13px; margin: 6px 0; white-space: pre; }
  code { background: #f3f3f3; border: 1px solid #e2e2e2; border-radius: 3px; padding: 0 3px; font-size: 13px; color: #c01343; }
  pre code { background: none; border: 0; padding: 0; color: inherit; }
  blockquote { border-left: 4px solid #ddd; margin: 4px 0; padding-left: 10px; color: #555; }
  .md p { margin: 2px 0 6px; } .md ul, .md ol { margin: 4px 0; padding-left: 22px; } .md h4 { margin: 8px 0 4px; font-size: 15px; }
  a { color: #1264a3; }
  .file { border: 1px solid #ddd; border-radius: 6px; padding: 6px 10px; margin-top: 6px; max-width: 720px; }
  .file-title { font-weight: 600; font-size: 13px; }
  .file pre { max-height: 260px; overflow: auto; }
  form.composer { display: flex; gap: 8px; padding: 12px 16px; border-top: 1px solid #ddd; }
  form.composer textarea { flex: 1; font: inherit; padding: 8px; border: 1px solid #bbb; border-radius: 6px; resize: vertical; min-height: 42px; }
  form.composer button { border: 0; background: #007a5a; color: #fff; border-radius: 6px; padding: 0 14px; font: inherit; font-weight: 600; cursor: pointer; }
  dialog { border: 1px solid #bbb; border-radius: 8px; width: 560px; max-width: 95vw; max-height: 92vh; overflow: auto; }
  dialog label { display: block; font-weight: 600; margin: 10px 0 4px; }
  dialog input, dialog textarea { display: block; width: 100%; font: inherit; padding: 6px; margin-top: 4px; font-weight: 400; }
  dialog .buttons { text-align: right; }
  .hint { color: #8d7f8e; font-size: 13px; padding: 4px 16px; }
  .file-meta { color: #616061; font-size: 12px; }
  .stream .timeline { margin: 4px 0; }
  .task { border: 1px solid #e2e2e2; border-radius: 6px; padding: 4px 8px; margin: 4px 0; font-size: 13px; }
  .task-icon { display: inline-block; width: 1em; text-align: center; }
  .task.in_progress .task-icon { color: #1264a3; } .task.complete .task-icon { color: #007a5a; } .task.error .task-icon { color: #e01e5a; } .task.pending .task-icon { color: #8d8d8d; }
  .task-title { font-weight: 600; }
  .task-detail, .task-output, .task-sources { color: #616061; margin-left: 1.3em; white-space: pre-wrap; }
  .plan { border: 1px solid #ddd; border-radius: 8px; padding: 6px 10px; margin: 6px 0; }
  .plan-title { font-weight: 700; margin-bottom: 2px; }
  .plan .task { border: 0; padding: 2px 0; margin: 0; }
  .streaming { color: #1264a3; font-weight: 700; letter-spacing: 2px; }
  #session { padding: 6px 16px; border-bottom: 1px solid #ddd; font-size: 13px; display: flex; gap: 8px; align-items: center; background: #f8f8f8; }
  #session[hidden] { display: none; }
  #session button { border: 1px solid #e01e5a; color: #e01e5a; background: #fff; border-radius: 4px; padding: 2px 10px; font: inherit; font-weight: 600; cursor: pointer; }
  .messages .hint { color: #616061; }
`;

export const playgroundPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>shipmate playground</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<style>${styles}</style>
</head>
<body>
<nav>
  <h1>shipmate playground</h1>
  <h2>Channels &amp; direct messages</h2>
  <div id="channels"></div>
  <p class="hint">A local Slack: nothing here reaches slack.com. Mention <b>@shipmate</b> to ask.</p>
  <label>You are <select id="user" aria-label="Post as"></select></label>
</nav>
<main>
  <header><span id="title">#general</span></header>
  <div id="notice" role="status" hidden></div>
  <div class="messages" id="messages"></div>
  <form class="composer" id="composer"><textarea id="text" aria-label="Message" placeholder="Message"></textarea><button>Send</button></form>
</main>
<aside id="thread" hidden>
  <header><span>Thread</span><button id="close" type="button" title="Close thread" aria-label="Close thread">\u00d7</button></header>
  <div id="session" role="status" hidden></div>
  <div class="messages" id="replies"></div>
  <form class="composer" id="reply"><textarea id="replyText" aria-label="Reply" placeholder="Reply\u2026"></textarea><button>Reply</button></form>
</aside>
<dialog id="modal"><form method="dialog" id="modalForm"></form></dialog>
<script>${script}</script>
</body>
</html>
`;
