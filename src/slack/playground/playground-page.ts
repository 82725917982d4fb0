/**
 * The playground page: one HTML document, inline CSS and JS, no framework. It renders the
 * emulator's state like a small Slack and refreshes on server-sent events. Markdown is
 * rendered by a tiny renderer that escapes everything first, so nothing from a message
 * becomes markup it did not ask for (links are http(s) only).
 */
export const playgroundPage =
  String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>shipmate playground</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.45 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1d1c1d; display: grid; grid-template-columns: 220px 1fr auto; height: 100vh; }
  nav { background: #3f0e40; color: #e8d8e8; padding: 12px 0; overflow-y: auto; }
  nav h1 { font-size: 16px; margin: 0 16px 12px; color: #fff; }
  nav button { display: block; width: 100%; text-align: left; background: none; border: 0; color: inherit; padding: 4px 16px; font: inherit; cursor: pointer; }
  nav button.active { background: #1164a3; color: #fff; }
  main, aside { display: flex; flex-direction: column; min-width: 0; height: 100vh; }
  aside { width: 420px; border-left: 1px solid #ddd; }
  aside[hidden] { display: none; }
  header { padding: 10px 16px; border-bottom: 1px solid #ddd; font-weight: 700; display: flex; justify-content: space-between; }
  header button { border: 0; background: none; font-size: 18px; cursor: pointer; }
  .messages { flex: 1; overflow-y: auto; padding: 8px 0; }
  .message { padding: 6px 16px; }
  .message:hover { background: #f8f8f8; }
  .who { font-weight: 700; margin-right: 6px; }
  .time { color: #616061; font-size: 12px; }
  .bot .who::after { content: "APP"; font-size: 10px; background: #ddd; border-radius: 3px; padding: 0 3px; margin-left: 4px; font-weight: 600; }
  .context { color: #616061; font-size: 13px; }
  .actions { margin-top: 6px; display: flex; gap: 6px; flex-wrap: wrap; }
  .actions button, form button { border: 1px solid #bbb; background: #fff; border-radius: 4px; padding: 3px 10px; font: inherit; font-size: 13px; cursor: pointer; }
  .actions button.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
  .actions button.danger { color: #e01e5a; border-color: #e01e5a; }
  .reactions span { display: inline-block; border: 1px solid #1d9bd1; background: #e8f5fa; border-radius: 10px; padding: 0 6px; font-size: 12px; margin: 4px 4px 0 0; }
  .replies { color: #1264a3; font-size: 13px; cursor: pointer; margin-top: 2px; background: none; border: 0; padding: 0; font-weight: 600; }
  pre { background: #f8f8f8; border: 1px solid #ddd; border-radius: 4px; padding: 8px; overflow-x: auto; font-size: 13px; margin: 6px 0; }
  code { background: #f3f3f3; border: 1px solid #e2e2e2; border-radius: 3px; padding: 0 3px; font-size: 13px; }
  pre code { background: none; border: 0; padding: 0; }
  .md p { margin: 4px 0; } .md ul, .md ol { margin: 4px 0; padding-left: 22px; } .md h3, .md h4 { margin: 8px 0 4px; font-size: 15px; }
  .file { border: 1px solid #ddd; border-radius: 6px; padding: 6px 10px; margin-top: 6px; }
  .file pre { max-height: 240px; overflow: auto; }
  form.composer { display: flex; gap: 8px; padding: 12px 16px; border-top: 1px solid #ddd; }
  form.composer textarea { flex: 1; font: inherit; padding: 8px; border: 1px solid #bbb; border-radius: 6px; resize: vertical; min-height: 40px; }
  dialog { border: 1px solid #bbb; border-radius: 8px; width: 520px; }
  dialog label { display: block; font-weight: 600; margin: 8px 0 4px; }
  dialog input, dialog textarea { width: 100%; font: inherit; padding: 6px; }
  .hint { color: #616061; font-size: 13px; padding: 4px 16px; }
</style>
</head>
<body>
<nav><h1>shipmate</h1><div id="channels"></div><p class="hint">You are <b>alice</b>. Mention <b>@shipmate</b> to ask.</p></nav>
<main>
  <header><span id="title">#general</span></header>
  <div class="messages" id="messages"></div>
  <form class="composer" id="composer"><textarea id="text" placeholder="@shipmate why does checkout double-charge shipping?"></textarea><button>Send</button></form>
</main>
<aside id="thread" hidden>
  <header><span>Thread</span><button id="close" title="Close">×</button></header>
  <div class="messages" id="replies"></div>
  <form class="composer" id="reply"><textarea id="replyText" placeholder="Reply…"></textarea><button>Reply</button></form>
</aside>
<dialog id="modal"><form method="dialog" id="modalForm"></form></dialog>
<script>
(function () {
  var state = null, channel = null, threadTs = null, seenViews = {};
  var $ = function (id) { return document.getElementById(id); };
  function esc(text) { return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'); }
  function inline(text) {
    var out = esc(text);
    out = out.replace(/&lt;@(U\w+)&gt;/g, function (_, id) { return '<b>@' + (id === state.bot ? 'shipmate' : id.replace(/^U0/, '').toLowerCase()) + '</b>'; });
    out = out.replace(/` +
  '`' +
  String.raw`([^` +
  '`' +
  String.raw`]+)` +
  '`' +
  String.raw`/g, '<code>$1</code>');
    out = out.replace(/\*\*([^*]+)\*\*/g, '<b>$1</b>').replace(/(^|[\s(])\*([^*\s][^*]*)\*/g, '$1<b>$2</b>').replace(/(^|[\s(])_([^_\s][^_]*)_/g, '$1<i>$2</i>');
    out = out.replace(/\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g, '<a href="$2" target="_blank" rel="noopener noreferrer">$1</a>');
    return out;
  }
  function markdown(text) {
    var html = [], lines = String(text).split('\n'), i = 0, list = null;
    function closeList() { if (list) { html.push('</' + list + '>'); list = null; } }
    while (i < lines.length) {
      var line = lines[i];
      var fence = /^\s*(` +
  '`' +
  String.raw`{3,}|~{3,})/.exec(line);
      if (fence) {
        closeList(); var code = []; i++;
        while (i < lines.length && lines[i].trim().indexOf(fence[1]) !== 0) { code.push(lines[i]); i++; }
        html.push('<pre><code>' + esc(code.join('\n')) + '</code></pre>'); i++; continue;
      }
      var item = /^\s*(?:[-*]|(\d+)\.)\s+(.*)$/.exec(line);
      if (item) { var kind = item[1] ? 'ol' : 'ul'; if (list !== kind) { closeList(); html.push('<' + kind + '>'); list = kind; } html.push('<li>' + inline(item[2]) + '</li>'); i++; continue; }
      closeList();
      var heading = /^(#{1,4})\s+(.*)$/.exec(line);
      if (heading) html.push('<h4>' + inline(heading[2]) + '</h4>');
      else if (line.trim()) html.push('<p>' + inline(line) + '</p>');
      i++;
    }
    closeList();
    return '<div class="md">' + html.join('') + '</div>';
  }
  function blocks(message) {
    if (!message.blocks || !message.blocks.length) return markdown(message.markdown_text || message.text || '');
    return message.blocks.map(function (block) {
      if (block.type === 'markdown') return markdown(block.text);
      if (block.type === 'section') return markdown(block.text ? block.text.text : '');
      if (block.type === 'context') return '<div class="context">' + (block.elements || []).map(function (e) { return inline(e.text || ''); }).join(' ') + '</div>';
      if (block.type === 'actions') return '<div class="actions">' + (block.elements || []).map(function (e) {
        return '<button class="' + esc(e.style || '') + '" data-ts="' + esc(message.ts) + '" data-action="' + esc(e.action_id) + '" data-value="' + esc(e.value || '') + '">' + esc(e.text ? e.text.text : e.action_id) + '</button>';
      }).join('') + '</div>';
      if (block.type === 'header') return '<h4>' + esc(block.text ? block.text.text : '') + '</h4>';
      return '';
    }).join('');
  }
  function render(message, inThread) {
    var bot = Boolean(message.bot_id);
    var who = bot ? 'shipmate' : String(message.user || '').replace(/^U0/, '').toLowerCase();
    var files = (message.files || []).map(function (f) { return '<div class="file" data-file="' + esc(f.id) + '"><b>' + esc(f.title || f.name) + '</b><pre>loading…</pre></div>'; }).join('');
    var reactions = (message.reactions || []).map(function (r) { return '<span>:' + esc(r.name) + ': ' + r.count + '</span>'; }).join('');
    var replies = !inThread && message.reply_count ? '<button class="replies" data-thread="' + esc(message.ts) + '">' + message.reply_count + (message.reply_count === 1 ? ' reply' : ' replies') + '</button>' : '';
    var open = !inThread && !message.reply_count ? ' <button class="replies" data-thread="' + esc(message.ts) + '">Reply in thread</button>' : '';
    return '<div class="message' + (bot ? ' bot' : '') + '" data-message-ts="' + esc(message.ts) + '"><span class="who">' + esc(who) + '</span><span class="time">' + new Date(Number(message.ts) * 1000).toLocaleTimeString() + '</span>' +
      blocks(message) + files + '<div class="reactions">' + reactions + '</div>' + replies + open + '</div>';
  }
  function current() { return state.channels.filter(function (c) { return c.id === channel; })[0]; }
  function draw() {
    $('channels').innerHTML = state.channels.map(function (c) { return '<button class="' + (c.id === channel ? 'active' : '') + '" data-channel="' + esc(c.id) + '"># ' + esc(c.name) + '</button>'; }).join('');
    var ch = current(); if (!ch) return;
    $('title').textContent = '#' + ch.name;
    var top = ch.messages.filter(function (m) { return !m.thread_ts || m.thread_ts === m.ts; });
    $('messages').innerHTML = top.map(function (m) { return render(m, false); }).join('');
    $('thread').hidden = !threadTs;
    if (threadTs) $('replies').innerHTML = ch.messages.filter(function (m) { return m.ts === threadTs || m.thread_ts === threadTs; }).map(function (m) { return render(m, true); }).join('');
    document.querySelectorAll('[data-file]').forEach(function (node) {
      fetch('/playground/files/' + node.getAttribute('data-file')).then(function (r) { return r.text(); }).then(function (t) { node.querySelector('pre').textContent = t; });
    });
    (state.views || []).forEach(function (view) { if (!seenViews[view.id]) { seenViews[view.id] = true; showModal(view); } });
  }
  function refresh() { return fetch('/playground/state').then(function (r) { return r.json(); }).then(function (s) { state = s; if (!channel) channel = s.channels[0] && s.channels[0].id; draw(); }); }
  var pending = null;
  function soon() { if (!pending) pending = setTimeout(function () { pending = null; refresh(); }, 60); }
  function post(path, body) { return fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(soon); }
  function send(textId, thread) {
    var text = $(textId).value.trim(); if (!text) return;
    $(textId).value = '';
    post('/playground/post', { channel: channel, text: text, threadTs: thread || undefined });
  }
  function showModal(view) {
    var form = $('modalForm');
    form.innerHTML = '<h3>' + esc(view.title ? view.title.text : 'Form') + '</h3>' + (view.blocks || []).filter(function (b) { return b.type === 'input'; }).map(function (b) {
      var el = b.element || {}, value = esc(el.initial_value || '');
      var field = el.multiline ? '<textarea rows="8" name="' + esc(b.block_id) + '">' + value + '</textarea>' : '<input name="' + esc(b.block_id) + '" value="' + value + '">';
      return '<label>' + esc(b.label ? b.label.text : b.block_id) + '</label>' + field;
    }).join('') + '<p><button value="cancel">Cancel</button> <button value="submit" class="primary">' + esc(view.submit ? view.submit.text : 'Submit') + '</button></p>';
    $('modal').showModal();
    $('modal').onclose = function () {
      if ($('modal').returnValue !== 'submit') return;
      var values = {}; form.querySelectorAll('[name]').forEach(function (input) { values[input.name] = input.value; });
      post('/playground/submit', { viewId: view.id, values: values });
    };
  }
  document.addEventListener('click', function (event) {
    var target = event.target.closest('button'); if (!target) return;
    if (target.dataset.channel) { channel = target.dataset.channel; threadTs = null; draw(); }
    else if (target.dataset.thread) { threadTs = target.dataset.thread; draw(); }
    else if (target.dataset.action) { post('/playground/click', { channel: channel, messageTs: target.dataset.ts, actionId: target.dataset.action, value: target.dataset.value }); }
  });
  $('close').onclick = function () { threadTs = null; draw(); };
  $('composer').onsubmit = function (event) { event.preventDefault(); send('text', null); };
  $('reply').onsubmit = function (event) { event.preventDefault(); send('replyText', threadTs); };
  ['text', 'replyText'].forEach(function (id) { $(id).addEventListener('keydown', function (event) { if (event.key === 'Enter' && !event.shiftKey) { event.preventDefault(); $(id).form.requestSubmit(); } }); });
  new EventSource('/playground/events').onmessage = soon;
  refresh();
})();
</script>
</body>
</html>
`;
