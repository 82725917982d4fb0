/**
 * The page's script, as browser JavaScript source (no framework, no build step). It draws the
 * emulator's state like a small Slack and redraws when the server says something changed
 * (server-sent events). Every action goes to /playground/* on the same origin; the server
 * turns it into the emulator's signed events, so the app cannot tell it from Slack.
 *
 * Kept free of backticks and dollar-braces so it can live in a template string.
 */
export const clientScript = String.raw`
(function () {
  var state = null, user = null, channel = null, kind = 'channel', threadTs = null;
  var shownViews = {}, fileText = {};
  var $ = function (id) { return document.getElementById(id); };
  var md = createMarkdown(function (id) { return nameOf(id); });
  var esc = md.escape;
  var emoji = { eyes: '\uD83D\uDC40', white_check_mark: '\u2705', x: '\u274C', warning: '\u26A0\uFE0F',
    hourglass_flowing_sand: '\u23F3', '+1': '\uD83D\uDC4D', thumbsup: '\uD83D\uDC4D', tada: '\uD83C\uDF89', rocket: '\uD83D\uDE80' };

  function nameOf(id) {
    if (state && id === state.bot) return 'shipmate';
    var known = state && state.users.filter(function (u) { return u.id === id; })[0];
    return known ? known.name : id;
  }
  function blockHtml(message, block) {
    if (block.type === 'markdown') return md.markdown(block.text);
    if (block.type === 'section') return (block.text ? text(block.text) : '') + (block.fields || []).map(text).join('');
    if (block.type === 'header') return '<h4>' + esc(block.text ? block.text.text : '') + '</h4>';
    if (block.type === 'divider') return '<hr>';
    if (block.type === 'context') return '<div class="context">' + (block.elements || []).map(function (e) { return md.inline(e.text || '', e.type === 'mrkdwn' ? 'mrkdwn' : 'plain'); }).join(' ') + '</div>';
    if (block.type === 'actions') return '<div class="actions">' + (block.elements || []).filter(function (e) { return e.type === 'button'; }).map(function (e) {
      return '<button class="' + esc(e.style || '') + '" data-ts="' + esc(message.ts) + '" data-action="' + esc(e.action_id) + '" data-value="' + esc(e.value || '') + '">' + esc(e.text ? e.text.text : e.action_id) + '</button>';
    }).join('') + '</div>';
    return '';
  }
  function text(object) { return object.type === 'mrkdwn' ? md.mrkdwn(object.text) : '<p>' + esc(object.text) + '</p>'; }
  // A streamed message: its parts in the order they arrived (text, task cards, the plan, blocks),
  // then the blocks chat.stopStream added; redrawn on every change, so it grows live.
  var taskIcon = { pending: '\u25CB', in_progress: '\u25D4', complete: '\u2714', error: '\u2716' };
  function taskHtml(task) {
    var sources = (task.sources || []).map(function (s) { return /^https?:\/\//.test(s.url) ? '<a href="' + esc(s.url) + '" target="_blank" rel="noopener noreferrer">' + esc(s.text) + '</a>' : esc(s.text); }).join(' ');
    return '<div class="task ' + esc(task.status) + '" data-task="' + esc(task.id) + '" data-status="' + esc(task.status) + '"><span class="task-icon" aria-hidden="true">' + (taskIcon[task.status] || '') + '</span> <span class="task-title">' + esc(task.title) + '</span>' +
      (task.details ? '<div class="task-detail">' + esc(task.details) + '</div>' : '') + (task.output ? '<div class="task-output">' + esc(task.output) + '</div>' : '') +
      (sources ? '<div class="task-sources">' + sources + '</div>' : '') + '</div>';
  }
  function streamBody(message, stream) {
    var tasks = {};
    stream.tasks.forEach(function (task) { tasks[task.id] = task; });
    var html = stream.parts.map(function (part) {
      if (part.kind === 'text') return '<div class="stream-text">' + md.markdown(part.text) + '</div>';
      if (part.kind === 'task') return tasks[part.id] ? '<div class="timeline">' + taskHtml(tasks[part.id]) + '</div>' : '';
      if (part.kind === 'plan') return '<div class="plan"><div class="plan-title">' + esc(stream.plan ? stream.plan.title : 'Plan') + '</div>' + stream.tasks.map(taskHtml).join('') + '</div>';
      return part.blocks.map(function (b) { return blockHtml(message, b); }).join('');
    }).join('');
    var state = stream.state === 'in_progress' ? '<span class="streaming" aria-label="streaming">\u2022\u2022\u2022</span>' : (stream.stoppedBy === 'user' ? '<div class="context">Stopped</div>' : '');
    return '<div class="stream" data-stream-state="' + esc(stream.state) + '">' + html + state + stream.finalBlocks.map(function (b) { return blockHtml(message, b); }).join('') + '</div>';
  }
  function streamFor(message) {
    var ch = current();
    return ch && (ch.streams || []).filter(function (s) { return s.ts === message.ts; })[0];
  }
  function sessionFor(ts) {
    var ch = current();
    return ch && (ch.sessions || []).filter(function (s) { return s.threadTs === ts; })[0];
  }
  function sizeOf(bytes) {
    if (typeof bytes !== 'number') return '';
    if (bytes < 1024) return bytes + ' B';
    if (bytes < 1048576) return (bytes / 1024).toFixed(1) + ' KB';
    return (bytes / 1048576).toFixed(1) + ' MB';
  }
  function fileHtml(message, f) {
    var type = f.pretty_type || f.filetype || f.mimetype || '';
    var meta = '<div class="file-meta"><span class="file-name">' + esc(f.name || f.title || f.id) + '</span>' + (type ? ' \u00B7 <span class="file-type">' + esc(type) + '</span>' : '') + (f.size !== undefined ? ' \u00B7 <span class="file-size">' + esc(sizeOf(f.size)) + '</span>' : '') + '</div>';
    // Only what the bot uploaded is previewed (this page serves those bytes); shared files show what they are.
    var preview = message.bot_id ? '<pre data-file="' + esc(f.id) + '">' + esc(fileText[f.id] || 'loading\u2026') + '</pre>' : '';
    return '<div class="file" data-file-id="' + esc(f.id) + '"><div class="file-title">\uD83D\uDCC4 ' + esc(f.title || f.name) + '</div>' + meta + preview + '</div>';
  }
  function body(message) {
    var stream = streamFor(message);
    if (stream) return streamBody(message, stream);
    if (message.blocks && message.blocks.length) return message.blocks.map(function (b) { return blockHtml(message, b); }).join('');
    if (message.markdown_text !== undefined) return md.markdown(message.markdown_text);
    return md.mrkdwn(message.text || '');
  }
  function render(message, inThread) {
    var bot = Boolean(message.bot_id);
    var files = (message.files || []).map(function (f) { return fileHtml(message, f); }).join('');
    var reactions = (message.reactions || []).map(function (r) {
      return '<span title=":' + esc(r.name) + ':">' + (emoji[r.name] || ':' + esc(r.name) + ':') + ' ' + r.count + '</span>';
    }).join('');
    var thread = '';
    if (!inThread) thread = '<button class="replies" data-thread="' + esc(message.ts) + '">' + (message.reply_count ? message.reply_count + (message.reply_count === 1 ? ' reply' : ' replies') : 'Reply in thread') + '</button>';
    var time = new Date(Number(message.ts) * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    return '<div class="message' + (bot ? ' bot' : '') + '" data-message-ts="' + esc(message.ts) + '"><div class="avatar">' + esc(nameOf(message.user || '').slice(0, 1).toUpperCase()) + '</div><div class="content">' +
      '<span class="who">' + esc(bot ? 'shipmate' : nameOf(message.user || '')) + '</span><span class="time">' + esc(time) + '</span>' +
      body(message) + files + (reactions ? '<div class="reactions">' + reactions + '</div>' : '') + thread + '</div></div>';
  }
  function current() { return state.channels.filter(function (c) { return c.id === channel; })[0]; }
  function nearBottom(node) { return node.scrollHeight - node.scrollTop - node.clientHeight < 40; }
  function fill(node, html) {
    var stick = nearBottom(node);
    node.innerHTML = html;
    if (stick) node.scrollTop = node.scrollHeight;
  }
  function draw() {
    $('channels').innerHTML = state.channels.map(function (c) {
      return '<button class="' + (c.id === channel ? 'active' : '') + '" data-channel="' + esc(c.id) + '">' + (c.kind === 'dm' ? '\u25CF ' : '# ') + esc(c.name) + '</button>';
    }).join('');
    $('user').innerHTML = state.users.map(function (u) { return '<option value="' + esc(u.id) + '"' + (u.id === user ? ' selected' : '') + '>' + esc(u.name) + '</option>'; }).join('');
    var ch = current();
    if (!ch) return;
    $('title').textContent = (ch.kind === 'dm' ? '' : '#') + ch.name;
    $('text').placeholder = ch.kind === 'dm' ? 'Message shipmate' : 'Message #' + ch.name + ' \u2014 mention @shipmate to ask';
    var top = ch.messages.filter(function (m) { return !m.thread_ts || m.thread_ts === m.ts; });
    fill($('messages'), top.map(function (m) { return render(m, false); }).join('') || '<p class="hint">No messages yet. Try: <b>@shipmate where is shipping computed?</b></p>');
    $('thread').hidden = !threadTs;
    var session = threadTs && sessionFor(threadTs);
    $('session').hidden = !session;
    $('session').setAttribute('data-session-status', session ? session.status : '');
    // Slack shows its Stop button only while the session is processing.
    $('session').innerHTML = session ? '<span class="session-status">' + esc(session.title ? session.title + ' \u2014 ' : '') + esc(session.status) + '</span>' +
      (session.status === 'processing' ? ' <button type="button" class="danger" data-stop="1">Stop</button>' : '') : '';
    if (threadTs) fill($('replies'), ch.messages.filter(function (m) { return m.ts === threadTs || m.thread_ts === threadTs; }).map(function (m) { return render(m, true); }).join(''));
    loadFiles();
    (state.views || []).forEach(function (view) { if (!shownViews[view.id]) { shownViews[view.id] = true; showModal(view); } });
    document.body.setAttribute('data-ready', 'true');
  }
  function loadFiles() {
    document.querySelectorAll('pre[data-file]').forEach(function (node) {
      var id = node.getAttribute('data-file');
      if (fileText[id] !== undefined) return;
      fileText[id] = 'loading\u2026';
      fetch('/playground/files/' + encodeURIComponent(id)).then(function (r) { return r.ok ? r.text() : '(file not available)'; }).then(function (t) {
        fileText[id] = t;
        document.querySelectorAll('pre[data-file="' + CSS.escape(id) + '"]').forEach(function (n) { n.textContent = t; });
      });
    });
  }
  // Fetches may overlap; only a newer answer than the one drawn may replace it.
  var asked = 0, applied = 0;
  function refresh() {
    var number = ++asked;
    return fetch('/playground/state?user=' + encodeURIComponent(user || '')).then(function (r) { return r.json(); }).then(function (next) {
      if (number < applied) return;
      applied = number;
      state = next; user = next.me;
      if (!current()) {
        var same = next.channels.filter(function (c) { return c.kind === kind; })[0] || next.channels[0];
        channel = same && same.id; threadTs = null;
      }
      kind = current() ? current().kind : 'channel';
      draw();
    });
  }
  var pending = null;
  function soon() { if (!pending) pending = setTimeout(function () { pending = null; refresh(); }, 50); }
  function notice(message) { $('notice').textContent = message; $('notice').hidden = !message; }
  function post(path, data) {
    return fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(data) })
      .then(function (r) { return r.ok ? null : r.json().then(function (e) { throw new Error(e.error || r.statusText); }); })
      .then(function () { notice(''); soon(); }, function (error) { notice('Could not send: ' + error.message); });
  }
  function send(id, thread) {
    var value = $(id).value.trim();
    if (!value) return;
    $(id).value = '';
    post('/playground/post', { user: user, channel: channel, text: value, threadTs: thread || undefined });
  }
  function showModal(view) {
    var form = $('modalForm');
    var blocks = (view.blocks || []).map(function (b) {
      if (b.type === 'section' || b.type === 'context' || b.type === 'header') return blockHtml({ ts: '' }, b);
      if (b.type !== 'input') return '';
      var el = b.element || {}, value = esc(el.initial_value || '');
      var names = ' data-block="' + esc(b.block_id) + '" data-input="' + esc(el.action_id || b.block_id) + '"';
      var field = el.multiline ? '<textarea rows="8"' + names + '>' + value + '</textarea>' : '<input' + names + ' value="' + value + '">';
      return '<label>' + esc(b.label ? b.label.text : b.block_id) + (b.optional ? ' <span class="hint">(optional)</span>' : '') + field + '</label>';
    }).join('');
    form.innerHTML = '<h3>' + esc(view.title ? view.title.text : 'Form') + '</h3>' + blocks +
      '<p class="buttons"><button value="cancel">' + esc(view.close ? view.close.text : 'Cancel') + '</button> <button value="submit" class="primary">' + esc(view.submit ? view.submit.text : 'Submit') + '</button></p>';
    $('modal').returnValue = '';
    $('modal').showModal();
    $('modal').onclose = function () {
      if ($('modal').returnValue !== 'submit') return;
      var values = {};
      form.querySelectorAll('[data-input]').forEach(function (input) {
        var block = input.getAttribute('data-block');
        values[block] = values[block] || {};
        values[block][input.getAttribute('data-input')] = input.value;
      });
      post('/playground/submit', { user: user, viewId: view.id, values: values });
    };
  }
  document.addEventListener('click', function (event) {
    var target = event.target.closest('button');
    if (!target) return;
    if (target.dataset.channel) { channel = target.dataset.channel; kind = current() ? current().kind : 'channel'; threadTs = null; draw(); }
    else if (target.dataset.thread) { threadTs = target.dataset.thread; draw(); $('replyText').focus(); }
    else if (target.dataset.stop) {
      target.disabled = true;
      post('/playground/stop', { user: user, channel: channel, threadTs: threadTs });
    }
    else if (target.dataset.action) {
      target.disabled = true;
      post('/playground/click', { user: user, channel: channel, messageTs: target.dataset.ts, actionId: target.dataset.action, value: target.dataset.value });
    }
  });
  $('user').onchange = function () { user = $('user').value; threadTs = null; refresh(); };
  $('close').onclick = function () { threadTs = null; draw(); };
  $('composer').onsubmit = function (event) { event.preventDefault(); send('text', null); };
  $('reply').onsubmit = function (event) { event.preventDefault(); send('replyText', threadTs); };
  ['text', 'replyText'].forEach(function (id) {
    $(id).addEventListener('keydown', function (event) {
      if (event.key === 'Enter' && !event.shiftKey) { event.preventDefault(); $(id).form.requestSubmit(); }
    });
  });
  var events = new EventSource('/playground/events');
  events.onmessage = soon;
  events.onerror = function () { notice('Lost the connection to shipmate; retrying\u2026'); };
  events.onopen = function () { notice(''); soon(); };
  refresh();
})();
`;
