/* The API Playground: a token from client credentials (or pasted), an endpoint from the served
   OpenAPI document, the request sent from this browser, and the same call as a curl command. */
"use strict";

(function () {
  var METHODS = ["get", "post", "put", "patch", "delete"];
  var REASONS = { 200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request",
    401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    409: "Conflict", 413: "Content Too Large", 415: "Unsupported Media Type",
    422: "Unprocessable Content", 429: "Too Many Requests", 500: "Internal Server Error" };

  var root, doc, operations = [], current = null;

  function $(id) { return document.getElementById(id); }

  function resolve(node) {
    var guard = 0;
    while (node && typeof node.$ref === "string" && node.$ref.indexOf("#/") === 0 && guard++ < 10) {
      var target = doc;
      node.$ref.slice(2).split("/").forEach(function (part) {
        part = part.replace(/~1/g, "/").replace(/~0/g, "~");
        target = target ? target[part] : undefined;
      });
      node = target;
    }
    return node;
  }

  function exampleFor(schema, depth) {
    schema = resolve(schema);
    if (!schema || depth > 5) return null;
    if (schema.example !== undefined) return schema.example;
    if (schema.default !== undefined) return schema.default;
    if (schema.enum && schema.enum.length) return schema.enum[0];
    var alternatives = schema.anyOf || schema.oneOf;
    if (alternatives) {
      for (var i = 0; i < alternatives.length; i++) {
        var alt = resolve(alternatives[i]);
        if (alt && alt.type !== "null") return exampleFor(alt, depth + 1);
      }
      return null;
    }
    if (schema.allOf && schema.allOf.length) return exampleFor(schema.allOf[0], depth + 1);
    var type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
    if (type === "object" || schema.properties) {
      var result = {};
      var props = schema.properties || {};
      var names = schema.required && schema.required.length ? schema.required : Object.keys(props);
      names.forEach(function (name) { result[name] = exampleFor(props[name], depth + 1); });
      return result;
    }
    if (type === "array") return [];
    if (type === "integer" || type === "number") return 0;
    if (type === "boolean") return false;
    if (type === "string") return "";
    return null;
  }

  function collectOperations() {
    var found = [];
    Object.keys(doc.paths || {}).forEach(function (path) {
      var item = resolve(doc.paths[path]) || {};
      var shared = item.parameters || [];
      METHODS.forEach(function (method) {
        var op = item[method];
        if (!op) return;
        var params = shared.concat(op.parameters || []).map(resolve).filter(function (p) {
          return p && p.name && p.in !== "cookie" &&
            !(p.in === "header" && p.name.toLowerCase() === "authorization");
        });
        var body = resolve(op.requestBody);
        var bodySchema = null;
        if (body && body.content) {
          var media = body.content["application/json"] || body.content[Object.keys(body.content)[0]];
          bodySchema = media ? resolve(media.schema) : null;
          if (media && media.example !== undefined) bodySchema = { example: media.example };
        }
        found.push({
          id: op.operationId || (method.toUpperCase() + " " + path),
          summary: op.summary || op.description || "",
          method: method.toUpperCase(),
          path: path,
          params: params,
          body: body ? { required: !!body.required, schema: bodySchema } : null,
        });
      });
    });
    // The seed's first call, ListCorpora, comes first; the v2 form before the v1 one.
    function rank(op) {
      if (op.id.toLowerCase() === "listcorpora") return op.path.indexOf("/v2/") === 0 ? 0 : 1;
      return 2;
    }
    found.forEach(function (op, index) { op.order = index; });
    found.sort(function (a, b) { return rank(a) - rank(b) || a.order - b.order; });
    return found;
  }

  function fieldId(param) { return "pg-param-" + param.in + "-" + param.name.replace(/[^A-Za-z0-9_-]/g, "_"); }

  function renderParams() {
    var box = $("pg-params");
    box.textContent = "";
    if (!current) return;
    var groups = { path: [], query: [], header: [] };
    current.params.forEach(function (p) { (groups[p.in] || (groups[p.in] = [])).push(p); });
    var titles = { path: "Path parameters", query: "Query parameters", header: "Headers" };
    Object.keys(groups).forEach(function (where) {
      if (!groups[where].length) return;
      var set = document.createElement("fieldset");
      set.className = "param-group stack";
      var legend = document.createElement("legend");
      legend.textContent = titles[where] || where;
      set.appendChild(legend);
      groups[where].forEach(function (p) { set.appendChild(paramField(p)); });
      box.appendChild(set);
    });
    if (current.body) {
      var wrap = document.createElement("div");
      wrap.className = "field";
      var label = document.createElement("label");
      label.htmlFor = "pg-body-input";
      label.textContent = "Request body (JSON)";
      var area = document.createElement("textarea");
      area.id = "pg-body-input";
      area.rows = 8;
      area.className = "mono";
      area.spellcheck = false;
      var example = current.body.schema ? exampleFor(current.body.schema, 0) : null;
      area.value = example === null ? "{}" : JSON.stringify(example, null, 2);
      wrap.appendChild(label);
      wrap.appendChild(area);
      box.appendChild(wrap);
    }
    if (!current.params.length && !current.body) {
      var none = document.createElement("p");
      none.className = "muted";
      none.textContent = "This endpoint takes no parameters.";
      box.appendChild(none);
    }
    box.querySelectorAll("input, select, textarea").forEach(function (el) {
      el.addEventListener("input", updateCurl);
    });
    updateCurl();
  }

  function paramField(p) {
    var schema = resolve(p.schema) || {};
    var wrap = document.createElement("div");
    wrap.className = "field";
    var label = document.createElement("label");
    label.htmlFor = fieldId(p);
    label.appendChild(document.createTextNode(p.name));
    if (p.required) {
      var mark = document.createElement("span");
      mark.className = "required-mark";
      mark.textContent = " *";
      mark.setAttribute("aria-hidden", "true");
      label.appendChild(mark);
    }
    var where = document.createElement("span");
    where.className = "param-in";
    where.textContent = p.in + (p.required ? ", required" : "");
    where.setAttribute("aria-hidden", "true"); // the field's name stays the parameter's name
    label.appendChild(where);
    var input;
    if (schema.enum) {
      input = document.createElement("select");
      var blank = document.createElement("option");
      blank.value = "";
      blank.textContent = "(not set)";
      input.appendChild(blank);
      schema.enum.forEach(function (value) {
        var option = document.createElement("option");
        option.value = String(value);
        option.textContent = String(value);
        input.appendChild(option);
      });
    } else {
      input = document.createElement("input");
      input.type = "text";
      input.autocomplete = "off";
      input.spellcheck = false;
      var hint = p.example !== undefined ? p.example : (schema.example !== undefined ? schema.example : schema.default);
      if (hint !== undefined && hint !== null) input.placeholder = String(hint);
      if (p.in === "header" && p.name.toLowerCase() === "customer-id") input.value = tokenClaims().customer_id || "";
    }
    input.id = fieldId(p);
    input.dataset.paramIn = p.in;
    input.dataset.paramName = p.name;
    if (p.required) input.required = true;
    wrap.appendChild(label);
    wrap.appendChild(input);
    if (p.description) {
      var help = document.createElement("p");
      help.className = "help";
      help.id = input.id + "-help";
      help.textContent = p.description;
      input.setAttribute("aria-describedby", help.id);
      wrap.appendChild(help);
    }
    return wrap;
  }

  function buildRequest() {
    var path = current.path;
    var query = [];
    var headers = [];
    var missing = [];
    $("pg-params").querySelectorAll("[data-param-name]").forEach(function (input) {
      var value = input.value.trim();
      var name = input.dataset.paramName;
      if (!value) {
        if (input.required) missing.push(name);
        return;
      }
      if (input.dataset.paramIn === "path") {
        path = path.split("{" + name + "}").join(encodeURIComponent(value));
      } else if (input.dataset.paramIn === "query") {
        query.push(encodeURIComponent(name) + "=" + encodeURIComponent(value));
      } else if (input.dataset.paramIn === "header") {
        headers.push([name, value]);
      }
    });
    var token = $("pg-bearer").value.trim();
    if (token) headers.unshift(["Authorization", "Bearer " + token]);
    headers.push(["Accept", "application/json"]);
    var body = null;
    var bodyInput = $("pg-body-input");
    if (current.body && bodyInput) {
      body = bodyInput.value.trim();
      if (body) headers.push(["Content-Type", "application/json"]);
      else body = null;
    }
    return {
      method: current.method,
      url: path + (query.length ? "?" + query.join("&") : ""),
      headers: headers,
      body: body,
      missing: missing,
    };
  }

  function shellQuote(text) { return "'" + String(text).replace(/'/g, "'\\''") + "'"; }

  function updateCurl() {
    if (!current) return;
    var req = buildRequest();
    var lines = ["curl -X " + req.method + " " + shellQuote(root.dataset.baseUrl + req.url)];
    req.headers.forEach(function (h) { lines.push("  -H " + shellQuote(h[0] + ": " + h[1])); });
    if (req.body !== null) lines.push("  --data " + shellQuote(req.body));
    $("pg-curl").textContent = lines.join(" \\\n");
  }

  function showResponse(status, headerText, bodyText, millis) {
    $("pg-response-empty").hidden = true;
    $("pg-response-body").hidden = false;
    var statusBox = $("pg-status");
    statusBox.textContent = status ? status + " " + (REASONS[status] || "") : "No response";
    statusBox.className = "http-status " + (status >= 200 && status < 300 ? "status-ok" : "status-error");
    $("pg-time").textContent = millis !== null ? "in " + millis + " ms" : "";
    $("pg-headers").textContent = headerText;
    $("pg-body").textContent = bodyText;
  }

  function send(event) {
    event.preventDefault();
    if (!current) return;
    var req = buildRequest();
    if (req.missing.length) {
      showResponse(0, "", "Fill in the required parameter" + (req.missing.length > 1 ? "s " : " ") + req.missing.join(", ") + ".", null);
      return;
    }
    if (req.body !== null) {
      try { JSON.parse(req.body); } catch (e) {
        showResponse(0, "", "The request body is not valid JSON: " + e.message, null);
        return;
      }
    }
    var headers = new Headers();
    req.headers.forEach(function (h) { headers.append(h[0], h[1]); });
    var started = performance.now();
    var button = $("pg-send");
    button.disabled = true;
    // No cookies: the call carries only the bearer token, exactly like a program's call.
    fetch(req.url, { method: req.method, headers: headers, body: req.body, credentials: "omit", cache: "no-store" })
      .then(function (response) {
        return response.text().then(function (text) {
          var lines = [];
          response.headers.forEach(function (value, name) { lines.push(name + ": " + value); });
          var pretty = text;
          try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
          showResponse(response.status, lines.join("\n"), pretty || "(empty body)", Math.round(performance.now() - started));
        });
      })
      .catch(function (error) {
        showResponse(0, "", "The request failed: " + error.message, null);
      })
      .then(function () { button.disabled = false; });
  }

  function tokenClaims() {
    var token = $("pg-bearer").value.trim();
    var parts = token.split(".");
    if (parts.length !== 3) return {};
    try {
      var json = atob(parts[1].replace(/-/g, "+").replace(/_/g, "/"));
      return JSON.parse(json) || {};
    } catch (e) { return {}; }
  }

  function describeToken() {
    var claims = tokenClaims();
    var help = $("pg-bearer-help");
    if (!claims.exp) {
      help.textContent = "Sent as Authorization: Bearer …. It stays in this page; nothing is stored.";
      return;
    }
    var minutes = Math.round((claims.exp * 1000 - Date.now()) / 60000);
    help.textContent = "Token of client " + (claims.client_id || claims.sub || "?") +
      (claims.customer_id ? ", customer " + claims.customer_id : "") +
      "; roles: " + (claims.scope || "none") + "; " +
      (minutes > 0 ? "expires in " + minutes + " min." : "expired.");
  }

  function formEncode(value) { return new URLSearchParams({ v: value }).toString().slice(2); }

  function sameOriginPath(url) {
    try {
      var parsed = new URL(url, window.location.href);
      return parsed.origin === window.location.origin ? parsed.pathname + parsed.search : parsed.href;
    } catch (e) { return url; }
  }

  function generateToken(event) {
    event.preventDefault();
    var status = $("token-status");
    var clientId = $("pg-client-id").value.trim();
    var secret = $("pg-client-secret").value.trim();
    if (!clientId || !secret) {
      status.className = "status-line status-error";
      status.textContent = "Enter the client ID and the client secret.";
      (clientId ? $("pg-client-secret") : $("pg-client-id")).focus();
      return;
    }
    status.className = "status-line muted";
    status.textContent = "Requesting a token…";
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before the Basic encoding.
    var basic = btoa(formEncode(clientId) + ":" + formEncode(secret));
    fetch(sameOriginPath($("pg-token-url").value.trim()), {
      method: "POST",
      credentials: "omit",
      cache: "no-store",
      headers: { "Authorization": "Basic " + basic, "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" },
      body: "grant_type=client_credentials",
    }).then(function (response) {
      return response.json().then(function (body) { return { status: response.status, body: body }; });
    }).then(function (result) {
      if (result.status === 200 && result.body.access_token) {
        $("pg-bearer").value = result.body.access_token;
        describeToken();
        updateCurl();
        status.className = "status-line status-ok";
        status.textContent = "Token generated (expires in " + result.body.expires_in + " s; roles: " + (result.body.scope || "none") + "). It is in the Bearer Token field.";
      } else {
        status.className = "status-line status-error";
        status.textContent = "The token endpoint answered " + result.status + ": " +
          (result.body.error_description || result.body.error || "no token");
      }
    }).catch(function (error) {
      status.className = "status-line status-error";
      status.textContent = "Could not reach the token endpoint: " + error.message;
    });
  }

  function fillSelect() {
    var select = $("pg-endpoint");
    select.textContent = "";
    operations.forEach(function (op, index) {
      var option = document.createElement("option");
      option.value = String(index);
      option.textContent = op.id + " — " + op.method + " " + op.path;
      select.appendChild(option);
    });
    select.disabled = !operations.length;
    $("pg-send").disabled = !operations.length;
    select.addEventListener("change", selectOperation);
    selectOperation();
  }

  function selectOperation() {
    current = operations[Number($("pg-endpoint").value)] || null;
    $("pg-endpoint-help").textContent = current ? current.summary : "";
    renderParams();
  }

  function loadDocument(urls, index) {
    if (index >= urls.length) {
      $("pg-endpoint").innerHTML = "<option>No API description found</option>";
      $("pg-endpoint-help").textContent = "The server did not serve an OpenAPI document at " + urls.join(" or ") + ".";
      return;
    }
    fetch(urls[index], { headers: { Accept: "application/json" }, credentials: "omit" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (document_) {
        doc = document_;
        operations = collectOperations();
        fillSelect();
      })
      .catch(function () { loadDocument(urls, index + 1); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = $("playground");
    if (!root) return;
    $("token-form").addEventListener("submit", generateToken);
    $("pg-form").addEventListener("submit", send);
    $("pg-bearer").addEventListener("input", function () { describeToken(); updateCurl(); });
    loadDocument(root.dataset.openapiUrls.split(" "), 0);
    if ($("pg-client-id").value) $("pg-client-secret").focus();
  });
})();
