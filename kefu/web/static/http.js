// kefu page helpers shared by every page script (window.kefuHttp): the CSRF token, the three
// ways pages call the JSON API, and message templates. Loaded first, without defer (base.html),
// so scripts that run while the page parses (the desk) can use it too.
(function () {
  "use strict";
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function init(method, body) {
    const out = { method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf() } };
    if (body instanceof FormData) out.body = body;
    else if (body !== undefined) {
      out.headers["Content-Type"] = "application/json";
      out.body = JSON.stringify(body);
    }
    return out;
  }

  // { res, data }: the caller looks at res.ok (data is {} when the body is not JSON).
  async function request(method, url, body) {
    const res = await fetch(url, init(method, body));
    let data = {};
    try { data = await res.json(); } catch (e) { /* empty body */ }
    return { res, data };
  }

  // The data, null for 204; otherwise throws an Error whose message is the problem's title and
  // detail and whose .problem is the problem details object.
  async function api(method, url, body) {
    const res = await fetch(url, init(method, body));
    if (res.status === 204) return null;
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      const err = new Error((data && (data.title + (data.detail ? "\n" + data.detail : ""))) || res.statusText);
      err.problem = data;
      throw err;
    }
    return data;
  }

  // fetch options passed through (a JSON string body); throws the Response when it is not ok.
  async function fetchJson(url, options = {}) {
    const res = await fetch(url, {
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      ...options,
    });
    if (!res.ok) throw res;
    return res.status === 204 ? null : res.json();
  }

  // "{name} waits {n} s" with params {name, n}; unknown or missing keys stay as written.
  function fmt(template, params) {
    return String(template || "").replace(/\{(\w+)\}/g, (m, k) =>
      params && params[k] !== undefined && params[k] !== null ? String(params[k]) : m);
  }

  window.kefuHttp = Object.freeze({ csrf, request, api, fetchJson, fmt });
})();
