/**
 * The page's Markdown renderer, as browser JavaScript source. It escapes everything first and
 * only then adds the few tags it knows (code fences, inline code, bold, italics, strike,
 * http(s) links, lists, headings, quotes), so text from a message never becomes markup it did
 * not ask for. `createMarkdown(nameOf)` returns `{ markdown, mrkdwn, inline, escape }`:
 * `markdown` for `markdown` blocks (CommonMark-ish), `mrkdwn` for `context`/`section` text
 * (Slack's flavour: *bold*, _italic_, ~strike~, <url|label>). `nameOf(userId)` names mentions.
 *
 * Kept free of backticks so it can live in a template string; `\x60` is a backtick.
 */
export const markdownScript = String.raw`
function createMarkdown(nameOf) {
  var tick = '\x60';
  function escape(text) {
    return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  }
  function link(url, label) {
    return '<a href="' + url + '" target="_blank" rel="noopener noreferrer">' + label + '</a>';
  }
  // One line, escaped first. Code spans, mentions and links are set aside as placeholders so the
  // emphasis pass never reaches inside them (an underscore in a URL stays an underscore).
  function inline(text, flavour) {
    var kept = [];
    function keep(html) { kept.push(html); return '\u0000' + (kept.length - 1) + '\u0000'; }
    var html = escape(String(text).replace(/\u0000/g, ''));
    html = html.replace(new RegExp(tick + '([^' + tick + ']+)' + tick, 'g'), function (_, code) { return keep('<code>' + code + '</code>'); });
    html = html.replace(/&lt;@(U[A-Z0-9]+)&gt;/g, function (_, id) { return keep('<b class="mention">@' + escape(nameOf(id)) + '</b>'); });
    html = html.replace(/&lt;#C[A-Z0-9]+\|([^&\u0000]+)&gt;/g, function (_, name) { return keep('<b class="mention">#' + name + '</b>'); });
    html = html.replace(/&lt;(https?:\/\/[^\s|&\u0000]+(?:&amp;[^\s|&\u0000]+)*)(?:\|([^&\u0000]+))?&gt;/g, function (_, url, label) { return keep(link(url, label || url)); });
    html = html.replace(/\[([^\]\u0000]+)\]\((https?:\/\/[^\s)\u0000]+)\)/g, function (_, label, url) { return keep(link(url, label)); });
    html = html.replace(/(^|[\s(])(https?:\/\/(?:[^\s<&\u0000]|&amp;)+)/g, function (_, before, url) {
      var trail = /[.,;:!?)]*$/.exec(url)[0];
      url = url.slice(0, url.length - trail.length);
      return before + keep(link(url, url)) + trail;
    });
    return emphasis(html, flavour || 'markdown').replace(/\u0000(\d+)\u0000/g, function (_, index) { return kept[Number(index)]; });
  }
  function emphasis(html, flavour) {
    if (flavour === 'mrkdwn') {
      html = html.replace(/(^|[^\w*])\*(?!\s)([^*]+?)\*(?!\w)/g, '$1<b>$2</b>');
      html = html.replace(/(^|[^\w])_(?!\s)([^_]+?)_(?!\w)/g, '$1<i>$2</i>');
      return html.replace(/(^|[^\w~])~(?!\s)([^~]+?)~(?!\w)/g, '$1<s>$2</s>');
    }
    html = html.replace(/\*\*(?!\s)([^*]+?)\*\*/g, '<b>$1</b>').replace(/(^|[^\w])__(?!\s)([^_]+?)__(?!\w)/g, '$1<b>$2</b>');
    html = html.replace(/(^|[^\w*])\*(?!\s)([^*]+?)\*(?!\w)/g, '$1<i>$2</i>').replace(/(^|[^\w])_(?!\s)([^_]+?)_(?!\w)/g, '$1<i>$2</i>');
    return html.replace(/~~(?!\s)([^~]+?)~~/g, '<s>$1</s>');
  }
  function render(text, flavour) {
    var html = [], lines = String(text == null ? '' : text).split('\n'), i = 0, list = null, paragraph = [];
    function flush() {
      if (paragraph.length) { html.push('<p>' + paragraph.join('<br>') + '</p>'); paragraph = []; }
    }
    function closeList() { if (list) { html.push('</' + list + '>'); list = null; } }
    while (i < lines.length) {
      var line = lines[i];
      var fence = new RegExp('^\\s*(' + tick + '{3,}|~{3,})').exec(line);
      if (fence) {
        flush(); closeList();
        var code = []; i++;
        while (i < lines.length && lines[i].trim().indexOf(fence[1]) !== 0) { code.push(lines[i]); i++; }
        html.push('<pre><code>' + escape(code.join('\n')) + '</code></pre>');
        i++; continue;
      }
      var item = /^\s*(?:[-*\u2022]|(\d+)[.)])\s+(.*)$/.exec(line);
      if (item) {
        flush();
        var kind = item[1] ? 'ol' : 'ul';
        if (list !== kind) { closeList(); html.push('<' + kind + '>'); list = kind; }
        html.push('<li>' + inline(item[2], flavour) + '</li>');
        i++; continue;
      }
      closeList();
      var heading = flavour === 'mrkdwn' ? null : /^(#{1,6})\s+(.*)$/.exec(line);
      var quote = /^>\s?(.*)$/.exec(line);
      if (heading) { flush(); html.push('<h4>' + inline(heading[2], flavour) + '</h4>'); }
      else if (quote) { flush(); html.push('<blockquote>' + inline(quote[1], flavour) + '</blockquote>'); }
      else if (line.trim()) paragraph.push(inline(line, flavour));
      else flush();
      i++;
    }
    flush(); closeList();
    return '<div class="md">' + html.join('') + '</div>';
  }
  return {
    escape: escape,
    inline: inline,
    markdown: function (text) { return render(text, 'markdown'); },
    mrkdwn: function (text) { return render(text, 'mrkdwn'); },
  };
}
`;
