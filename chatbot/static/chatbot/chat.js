/* The shop's chat widget. Vanilla JS, no dependencies.
 * Every piece of text from the server is set with textContent (never innerHTML); product cards are built from
 * the reply's data; links are followed only when they are paths on this site (or http(s) images).
 * The conversation is kept in sessionStorage for the browser session, as data, and re-rendered the same way. */
(function () {
  "use strict";
  var root = document.getElementById("chat-widget");
  if (!root) { return; }
  var api = root.getAttribute("data-api");
  var openBtn = document.getElementById("chat-open");
  var closeBtn = document.getElementById("chat-close");
  var panel = document.getElementById("chat-panel");
  var log = document.getElementById("chat-log");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-input");
  var send = document.getElementById("chat-send");
  var STORE = "chatbot.log";
  var OPEN = "chatbot.open";
  var history = [];

  function load() {
    try { history = JSON.parse(window.sessionStorage.getItem(STORE) || "[]"); } catch (e) { history = []; }
    if (!Array.isArray(history)) { history = []; }
  }
  function save() {
    try { window.sessionStorage.setItem(STORE, JSON.stringify(history.slice(-60))); } catch (e) { /* full or off */ }
  }
  function localPath(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" && url.charAt(1) !== "\\";
  }
  function imageUrl(url) {
    return localPath(url) || (typeof url === "string" && /^https?:\/\//i.test(url));
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function money(value, currency) {
    var n = Number(value);
    return (isFinite(n) ? n.toFixed(2) : String(value)) + " " + (currency || "");
  }
  function productCard(p) {
    var li = el("li", "chat-card");
    var link = localPath(p.url) ? el("a", "chat-card-link") : el("span", "chat-card-link");
    if (localPath(p.url)) { link.href = p.url; }
    if (p.image && imageUrl(p.image)) {
      var img = el("img", "chat-card-img");
      img.src = p.image;
      img.alt = "";
      img.loading = "lazy";
      link.appendChild(img);
    }
    var body = el("span", "chat-card-body");
    body.appendChild(el("span", "chat-card-name", p.name));
    var price = el("span", "chat-card-price", money(p.price, p.currency));
    if (p.discount_percent) {
      price.appendChild(document.createTextNode(" "));
      price.appendChild(el("s", "chat-card-old", money(p.list_price, p.currency)));
    }
    body.appendChild(price);
    var stock = Number(p.stock);
    body.appendChild(el("span", "chat-card-stock " + (stock > 0 ? "in" : "out"),
      stock > 5 ? "In stock" : (stock > 0 ? "Only " + stock + " left" : "Out of stock")));
    link.appendChild(body);
    li.appendChild(link);
    return li;
  }
  function render(entry) {
    var li = el("li", "chat-msg chat-" + (entry.role === "user" ? "user" : "bot"));
    li.appendChild(el("span", "visually-hidden", entry.role === "user" ? "You: " : "Assistant: "));
    li.appendChild(el("span", "chat-text", entry.text));
    if (Array.isArray(entry.products) && entry.products.length) {
      var cards = el("ul", "chat-cards");
      entry.products.forEach(function (p) { cards.appendChild(productCard(p)); });
      li.appendChild(cards);
    }
    if (Array.isArray(entry.actions) && entry.actions.length) {
      var row = el("div", "chat-actions");
      entry.actions.forEach(function (a) {
        if (a.url && localPath(a.url)) {
          var link = el("a", "btn btn-sm btn-outline-secondary", a.label);
          link.href = a.url;
          row.appendChild(link);
        } else if (a.message) {
          var b = el("button", "btn btn-sm btn-outline-primary chat-quick", a.label);
          b.type = "button";
          b.addEventListener("click", function () { ask(String(a.message)); });
          row.appendChild(b);
        }
      });
      li.appendChild(row);
    }
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
    return li;
  }
  function add(entry) {
    history.push(entry);
    save();
    return render(entry);
  }
  // The CSRF token: from the cookie when the browser has one (any page with a form sets it), else asked for once
  // (GET on the chat API sets the cookie). Pages carry no token of their own, so a page without a form stays the
  // same bytes for everyone.
  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) { return Promise.resolve(decodeURIComponent(m[1])); }
    return fetch(api, {method: "GET", credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (d) { return (d && d.csrf_token) || ""; });
  }
  function busy(on) {
    send.disabled = on;
    root.classList.toggle("chat-busy", on);
  }
  function ask(text) {
    text = (text || "").trim();
    if (!text || send.disabled) { return; }
    add({role: "user", text: text});
    busy(true);
    var waiting = render({role: "bot", text: "…"});
    waiting.classList.add("chat-waiting");
    csrf().then(function (token) {
      return fetch(api, {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token},
        body: JSON.stringify({message: text})
      });
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) { return {ok: r.ok, data: data}; });
    }).then(function (res) {
      waiting.remove();
      var d = res.data || {};
      add({role: "bot", text: d.reply || d.detail || "Sorry, something went wrong. Please try again.",
           products: res.ok ? d.products : [], actions: res.ok ? d.actions : []});
    }).catch(function () {
      waiting.remove();
      add({role: "bot", text: "I can't reach the shop right now. Please check your connection and try again."});
    }).then(function () {
      busy(false);
      input.focus();
    });
  }
  function setOpen(open, focus) {
    panel.hidden = !open;
    openBtn.setAttribute("aria-expanded", open ? "true" : "false");
    root.classList.toggle("chat-is-open", open);
    try { window.sessionStorage.setItem(OPEN, open ? "1" : ""); } catch (e) { /* ignore */ }
    if (open && focus) { input.focus(); }
    if (!open && focus) { openBtn.focus(); }
  }

  load();
  history.forEach(render);
  if (!history.length) {
    render({role: "bot", text: "Hi! Ask me about a product's price, stock or sizes, find products, or check your order."});
  }
  openBtn.addEventListener("click", function () { setOpen(panel.hidden, true); });
  closeBtn.addEventListener("click", function () { setOpen(false, true); });
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { e.preventDefault(); setOpen(false, true); }
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value;
    input.value = "";
    ask(text);
  });
  var wasOpen = false;
  try { wasOpen = window.sessionStorage.getItem(OPEN) === "1"; } catch (e) { wasOpen = false; }
  if (wasOpen) { setOpen(true, false); }
}());
