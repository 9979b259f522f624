/* capp dashboard: renders the server's snapshot (GET /api/snapshot, live over /api/events). No build step.
 * Every text from the workspace goes through textContent (never innerHTML). */

(() => {
  const VIEWS = ["trading", "ensemble", "study", "health"];
  let snap = null;
  let span = "all";
  const charts = {};

  // ---------- helpers
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === "class") el.className = v;
      else el.setAttribute(k, v);
    }
    for (const k of kids.flat()) if (k !== null && k !== undefined) el.append(k instanceof Node ? k : String(k));
    return el;
  }
  const isErr = (x) => x && typeof x === "object" && typeof x.error === "string" && Object.keys(x).length === 1;
  const errBox = (x) => h("div", { class: "error" }, `cannot show this: ${x.error}`);
  const fmt = (x, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(d));
  const usd = (x) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : `${x.toFixed(2)} USD`);
  const pct = (x) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : `${(x * 100).toFixed(2)} %`);
  const iso = (ms) =>
    ms === null || ms === undefined ? "–" : new Date(ms).toISOString().replace("T", " ").slice(0, 19);
  const signed = (x, s) => h("span", { class: x > 0 ? "pos" : x < 0 ? "neg" : "" }, s);
  const tag = (s) => h("span", { class: `tag ${s}` }, s);
  const card = (k, v, sub, testid) =>
    h(
      "div",
      { class: "card" },
      h("div", { class: "k" }, k),
      h("div", { class: "v", "data-testid": testid }, v),
      sub ? h("div", { class: "s" }, sub) : null,
    );
  function table(cols, rows, testid, empty) {
    if (!rows.length) return h("div", { class: "empty", "data-testid": testid }, empty || "none");
    return h(
      "table",
      { "data-testid": testid },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          cols.map((c) => h("th", { class: c.num ? "num" : "" }, c.t)),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map((r) =>
          h(
            "tr",
            {},
            cols.map((c) => h("td", { class: c.num ? "num" : c.msg ? "msg" : "" }, c.f(r))),
          ),
        ),
      ),
    );
  }
  const panel = (...kids) => h("div", { class: "panel" }, ...kids);

  /** (Re)draw a uPlot chart into `host` (views are rebuilt on each snapshot, so the old one is dropped). */
  function chart(key, host, opts, data) {
    charts[key]?.destroy();
    const width = Math.max(300, host.clientWidth - 20);
    // times on the page are UTC, like the CLI's
    const tzDate = (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC");
    charts[key] = new uPlot({ width, height: opts.height || 260, tzDate, ...opts }, data, host);
  }

  // ---------- views
  function renderTrading(el, t) {
    el.replaceChildren();
    if (isErr(t)) return el.append(errBox(t));
    if (!t.session) {
      const e = snap && !isErr(snap.ensemble) ? snap.ensemble : null;
      const live = e?.deployments?.live || e?.pointer;
      const why =
        e?.stateDb?.status === "missing"
          ? `no state DB yet (${e.stateDb.path}): nothing has been recorded; run \`capp trader run\``
          : e?.gate && !e.gate.passed && !live
            ? "nothing is deployed: the validation gate refused the ensemble (see Ensemble & deployments), so there is nothing to trade"
            : "no trading session has recorded equity yet (run `capp trader run`)";
      return el.append(
        h("div", { class: "cards" }, card("equity", "no trading yet", null, "final-equity")),
        h("div", { class: "empty", "data-testid": "no-trading" }, why),
      );
    }
    const chosen = t.spans.find((x) => x.key === span) || t.spans.at(-1);
    const m = chosen ? chosen.metrics : t.metrics;
    const from = chosen ? chosen.fromMs : Number.NEGATIVE_INFINITY;
    el.append(
      h(
        "div",
        { class: "spans", "data-testid": "spans" },
        "span: ",
        t.spans.map((x) => {
          const b = h("button", { class: x === chosen ? "on" : "", type: "button" }, x.key);
          b.addEventListener("click", () => {
            span = x.key;
            render();
          });
          return b;
        }),
      ),
    );
    el.append(
      h(
        "div",
        { class: "cards" },
        card(
          "equity",
          usd(t.stats?.equity ?? m?.endEquity),
          `session ${t.session} · ${iso(t.series.t.at(-1))}`,
          "final-equity",
        ),
        card("return", pct(m?.totalReturn), `from ${usd(m?.startEquity)}`, "return"),
        card("vs BTC HODL", pct(m?.alphaBtc), `BTC ${pct(m?.btcHodlReturn)}`),
        card("vs equal-weight HODL", pct(m?.alphaEw), `EW ${pct(m?.ewHodlReturn)}`),
        card("max drawdown", pct(m?.maxDrawdown), `Sharpe ${fmt(m?.sharpe)}, Sortino ${fmt(m?.sortino)}`),
        card("trades", String(m?.trades ?? 0), `fees ${usd(m?.fees)}`, "trade-count"),
        card("cash", usd(t.cash)),
      ),
    );
    const eqHost = h("div", { "data-testid": "equity-chart" });
    const ddHost = h("div", { "data-testid": "drawdown-chart" });
    el.append(
      h("h2", {}, "Equity vs BTC HODL and equal-weight HODL (USD)"),
      panel(eqHost),
      h("h2", {}, "Drawdown from the session's high (%)"),
      panel(ddHost),
    );
    const k0 = Math.max(
      0,
      t.series.t.findIndex((x) => x >= from),
    );
    const cut = (a) => a.slice(k0);
    const ts = cut(t.series.t).map((x) => x / 1000);
    chart(
      "equity",
      eqHost,
      {
        series: [
          {},
          { label: "equity", stroke: "#2563eb", width: 2 },
          { label: "BTC HODL", stroke: "#f59e0b" },
          { label: "EW HODL", stroke: "#10b981" },
        ],
        axes: [{}, { size: 70 }],
      },
      [ts, cut(t.series.equity), cut(t.series.btc), cut(t.series.ew)],
    );
    chart(
      "drawdown",
      ddHost,
      {
        height: 160,
        series: [{}, { label: "drawdown %", stroke: "#dc2626", fill: "rgba(220,38,38,0.15)" }],
        axes: [{}, { size: 70 }],
      },
      [ts, cut(t.series.drawdown).map((d) => d * 100)],
    );
    el.append(
      h("h2", {}, "Positions"),
      panel(
        table(
          [
            { t: "symbol", f: (p) => p.symbol },
            { t: "qty", num: 1, f: (p) => fmt(p.qty, 6) },
            { t: "entry", num: 1, f: (p) => fmt(p.entryPrice, 4) },
            { t: "price", num: 1, f: (p) => fmt(p.price, 4) },
            { t: "value USD", num: 1, f: (p) => fmt(p.value) },
            { t: "unrealised P&L USD", num: 1, f: (p) => signed(p.unrealisedPnl, fmt(p.unrealisedPnl)) },
          ],
          t.positions,
          "positions",
          "no open position",
        ),
      ),
      h(
        "div",
        { class: "grid2" },
        h(
          "div",
          {},
          h("h2", {}, "Recent orders"),
          panel(
            table(
              [
                { t: "bar", f: (o) => iso(o.bar_time) },
                { t: "symbol", f: (o) => o.symbol },
                { t: "side", f: (o) => o.side },
                { t: "qty", num: 1, f: (o) => fmt(o.qty, 6) },
                { t: "status", f: (o) => o.status },
                { t: "price", num: 1, f: (o) => fmt(o.filled_price, 4) },
                { t: "fee", num: 1, f: (o) => fmt(o.fee, 4) },
                { t: "reason", f: (o) => o.reason ?? "" },
              ],
              t.orders.slice(0, 20),
              "orders",
              "no order yet",
            ),
          ),
        ),
        h(
          "div",
          {},
          h("h2", {}, "Recent fills"),
          panel(
            table(
              [
                { t: "time", f: (f) => iso(f.ts) },
                { t: "symbol", f: (f) => f.symbol },
                { t: "side", f: (f) => f.side },
                { t: "qty", num: 1, f: (f) => fmt(f.qty, 6) },
                { t: "price", num: 1, f: (f) => fmt(f.price, 4) },
                { t: "fee USD", num: 1, f: (f) => fmt(f.fee, 4) },
              ],
              t.fills.slice(0, 20),
              "fills",
              "no fill yet",
            ),
          ),
        ),
      ),
      h("h2", {}, "Risk events"),
      panel(
        table(
          [
            { t: "time", f: (e) => iso(e.ts) },
            { t: "kind", f: (e) => tag(e.kind) },
            { t: "message", msg: 1, f: (e) => e.message },
          ],
          t.riskEvents,
          "risk-events",
          "no stop, profit take or cooldown yet",
        ),
      ),
    );
  }

  function renderEnsemble(el, e) {
    el.replaceChildren();
    if (isErr(e)) return el.append(errBox(e));
    const m = e.manifest;
    const live = e.deployments?.live;
    const g = e.gate;
    const refused = g && !g.passed && !live;
    if (e.stateDb && e.stateDb.status !== "ok")
      el.append(
        h(
          "div",
          { class: e.stateDb.status === "unreadable" ? "error" : "empty", "data-testid": "state-db" },
          e.stateDb.status === "unreadable"
            ? e.stateDb.message
            : `no state DB yet at ${e.stateDb.path}: no deploy check or trading has been recorded`,
        ),
      );
    el.append(
      h(
        "div",
        { class: "cards" },
        card(
          "ensemble",
          m && !isErr(m) ? `v${m.version}` : "none",
          m && !isErr(m) ? `${m.study} (${m.direction}), ${m.updated}` : "",
        ),
        card("members", m && !isErr(m) ? String(m.modelCount) : "0", null, "member-count"),
        card(
          "live deployment",
          live ? `#${live.deployment}` : e.pointer ? `#${e.pointer.deployment}` : "none",
          live
            ? `ensemble v${live.version}, trial ${live.trial_number}, since ${live.deployed_at}`
            : e.pointer
              ? `from deployments/deployment.json (ensemble v${e.pointer.version}, trial ${e.pointer.trial_number}); the state DB has no record of it`
              : refused
                ? "the validation gate refused the ensemble: nothing deployed"
                : "",
          "deployment-number",
        ),
        g
          ? card(
              "validation gate",
              g.error ? "ERROR" : g.passed ? "PASSED" : "REFUSED",
              `${iso(g.ts)} · trial_id ${g.trialId ?? "–"} · ${g.action}`,
              "gate-verdict",
            )
          : null,
        card(
          "deploy check now",
          e.nextCheck && !isErr(e.nextCheck) ? e.nextCheck.would : "–",
          e.nextCheck ? (isErr(e.nextCheck) ? e.nextCheck.error : e.nextCheck.verdict) : "no active study",
          "next-check",
        ),
      ),
    );
    el.append(h("h2", {}, "Members"));
    if (isErr(m)) el.append(panel(errBox(m)));
    else
      el.append(
        panel(
          table(
            [
              { t: "trial", num: 1, f: (x) => x.trial_number },
              { t: "trial_id", num: 1, f: (x) => x.trial_id },
              { t: "study", f: (x) => x.study_name },
              { t: "value", num: 1, f: (x) => fmt(x.value, 6) },
              { t: "package sha256", f: (x) => h("code", { title: x.sha256 }, `${x.sha256.slice(0, 16)}…`) },
            ],
            m ? m.members : [],
            "members",
            "no ensemble yet (capp ensemble sync --once)",
          ),
        ),
      );
    if (g) {
      const row = (k, v, testid) => h("tr", {}, h("th", {}, k), h("td", { "data-testid": testid }, v));
      el.append(
        h("h2", {}, g.passed ? "Validation gate (passed)" : "Validation gate: why the ensemble was refused"),
        panel(
          g.failures.length
            ? h(
                "ul",
                { class: "failures", "data-testid": "gate-failures" },
                g.failures.map((f) => h("li", {}, f)),
              )
            : null,
          g.error ? h("div", { class: "error" }, `the gate could not run: ${g.error}`) : null,
          h(
            "table",
            { class: "kv", "data-testid": "gate" },
            h(
              "tbody",
              {},
              row("rule", g.rule),
              row("validation bars", `${g.from ?? "–"} → ${g.to ?? "–"} (${g.bars ?? "–"} bars)`),
              row("trained until", g.trainedUntil ?? "unknown"),
              row("Sharpe (annualised)", `${fmt(g.sharpe)} vs equal-weight HODL ${fmt(g.ewSharpe)}`, "gate-sharpe"),
              row(
                "return",
                `${pct(g.totalReturn)} (alpha ${pct(g.alpha)} vs ${g.alphaBasis === "btc" ? "BTC HODL" : "equal-weight HODL"})`,
              ),
              row("max drawdown", pct(g.maxDrawdown)),
              row("trades", g.trades === null ? "–" : String(g.trades)),
              row(
                "overfitting",
                `PBO ${fmt(g.pbo)} (refused above ${fmt(g.maxPbo)}), DSR ${fmt(g.dsr)} (N = ${g.nTrials ?? "–"} trials)`,
                "gate-overfitting",
              ),
            ),
          ),
        ),
      );
    }
    const lc = e.lastCheck;
    el.append(
      h("h2", {}, "Last deploy check"),
      panel(
        lc
          ? h("div", {}, tag(lc.ok === false ? "FAIL" : "ok"), " ", iso(lc.ts), " — ", lc.summary ?? "")
          : h("div", { class: "empty" }, "never run"),
      ),
      h(
        "div",
        { class: "grid2" },
        h(
          "div",
          {},
          h("h2", {}, "Manifest versions"),
          panel(
            table(
              [
                { t: "version", num: 1, f: (v) => `v${v.version}` },
                { t: "first seen", f: (v) => iso(v.firstSeen) },
                { t: "deployments", f: (v) => v.deployments.map((d) => `#${d}`).join(" ") || "–" },
              ],
              e.versions,
              "versions",
            ),
          ),
        ),
        h(
          "div",
          {},
          h("h2", {}, "Rollback stack"),
          panel(
            table(
              [
                { t: "deployment", num: 1, f: (d) => `#${d.deployment}` },
                { t: "ensemble", f: (d) => `v${d.version}` },
                { t: "trial", num: 1, f: (d) => d.trial_number ?? "–" },
                { t: "value", num: 1, f: (d) => fmt(d.value, 6) },
                { t: "since", f: (d) => d.deployed_at },
              ],
              [...(e.deployments?.stack ?? [])].reverse(),
              "stack",
            ),
          ),
        ),
      ),
      h("h2", {}, "Deployments, rollbacks and gate results"),
      panel(
        table(
          [
            { t: "time", f: (r) => iso(r.ts) },
            { t: "action", f: (r) => tag(r.action) },
            { t: "deployment", f: (r) => (r.deployment ? `#${r.deployment.deployment}` : "") },
            { t: "trial", num: 1, f: (r) => r.trial_number ?? "–" },
            { t: "value", num: 1, f: (r) => fmt(r.value, 6) },
            { t: "gate", msg: 1, f: (r) => gateText(r.details?.gate) },
            { t: "message", msg: 1, f: (r) => r.details?.message ?? "" },
          ],
          [...(e.deployments?.history ?? [])].reverse(),
          "deploy-history",
          "no deploy check recorded yet",
        ),
      ),
    );
  }
  function gateText(g) {
    if (!g) return "";
    const mm = g.metrics;
    const th = g.thresholds || {};
    const parts = [g.error ? "could not run" : g.passed ? "passed" : "refused"];
    // the rule that decided: "relative" (Sharpe vs equal-weight HODL, PBO) or the seed's fixed thresholds
    if (mm && g.rule?.name === "seed")
      parts.push(
        `return ${pct(mm.totalReturn)} (≥ ${pct(th.minTotalReturn)})`,
        `Sharpe ${fmt(mm.sharpe)} (≥ ${th.minSharpe})`,
        `max DD ${pct(mm.maxDrawdown)} (≤ ${pct(th.maxDrawdown)})`,
      );
    else if (mm)
      parts.push(
        `Sharpe ${fmt(mm.sharpe)} vs equal-weight HODL ${fmt(mm.ewSharpe)}`,
        `return ${pct(mm.totalReturn)}`,
        `trades ${mm.trades}`,
      );
    const o = g.overfitting;
    if (o) parts.push(`PBO ${fmt(o.pbo)} (≤ ${fmt(g.maxPbo)})`, `DSR ${fmt(o.dsr)}`);
    const text = parts.join(", ");
    return g.failures?.length ? `${text} — ${g.failures.join("; ")}` : text;
  }

  function renderStudy(el, s) {
    el.replaceChildren();
    if (isErr(s)) return el.append(errBox(s));
    if (s.error) el.append(h("div", { class: "error" }, s.error));
    const c = s.counts;
    el.append(
      h(
        "div",
        { class: "cards" },
        card("study", s.study ?? "none", s.direction ?? ""),
        card("trials", c ? String(c.total) : "0", null, "trial-count"),
        card("COMPLETE", c ? String(c.COMPLETE) : "0"),
        card("PRUNED", c ? String(c.PRUNED) : "0"),
        card("FAIL", c ? String(c.FAIL) : "0"),
        card(
          "RUNNING",
          c ? String(c.RUNNING) : "0",
          s.staleRunning.length ? `${s.staleRunning.length} stale (> ${s.staleRunningMin} min)` : null,
        ),
        card("trials per hour", fmt(s.stats?.trialsPerHour), "COMPLETE in the last 24 h / 24"),
        card(
          "best",
          s.stats?.best ? fmt(s.stats.best.value, 6) : "–",
          s.stats?.best ? `trial ${s.stats.best.number}` : "",
        ),
      ),
    );
    const host = h("div", { "data-testid": "history-chart" });
    el.append(h("h2", {}, "Optimization history (objective value by trial number, best so far)"), panel(host));
    const x = s.trials.map((t) => t.number);
    const only = (st) =>
      s.trials.map((t) => (t.state === st && t.value !== null && Number.isFinite(t.value) ? t.value : null));
    const dots = (stroke) => ({ stroke, width: 0, points: { show: true, size: 7, fill: stroke } });
    if (x.length)
      chart(
        "history",
        host,
        {
          scales: { x: { time: false, range: (_u, lo, hi) => [lo - 0.5, hi + 0.5] } },
          series: [
            { label: "trial" },
            { label: "best so far", stroke: "#dc2626", width: 2, spanGaps: true, points: { show: false } },
            { label: "COMPLETE", ...dots("#2563eb") },
            { label: "PRUNED", ...dots("#f59e0b") },
          ],
          axes: [
            { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000], label: "trial number" },
            { size: 70, label: "objective value" },
          ],
        },
        [x, s.bestSoFar, only("COMPLETE"), only("PRUNED")],
      );
    else host.append(h("div", { class: "empty" }, "no trial yet"));
    el.append(
      h("h2", {}, `Stale RUNNING trials (started more than ${s.staleRunningMin} min ago)`),
      panel(
        table(
          [
            { t: "trial", num: 1, f: (t) => t.number },
            { t: "trial_id", num: 1, f: (t) => t.trialId },
            { t: "started", f: (t) => iso(t.start) },
            { t: "minutes", num: 1, f: (t) => t.minutes ?? "–" },
          ],
          s.staleRunning,
          "stale-running",
          "none",
        ),
      ),
      h("h2", {}, "Trials"),
      panel(
        table(
          [
            { t: "trial", num: 1, f: (t) => t.number },
            { t: "state", f: (t) => tag(t.state) },
            { t: "value", num: 1, f: (t) => fmt(t.value, 6) },
            { t: "started", f: (t) => iso(t.start) },
            { t: "completed", f: (t) => iso(t.complete) },
          ],
          [...s.trials].reverse().slice(0, 50),
          "trials",
          "no trial yet",
        ),
      ),
    );
  }

  function renderHealth(el, hv) {
    el.replaceChildren();
    if (isErr(hv)) return el.append(errBox(hv));
    const w = hv.watchdog;
    const a = hv.automation;
    el.append(
      h(
        "div",
        { class: "cards" },
        card(
          "watchdog",
          w && !isErr(w) && w.daemon ? `running pid ${w.daemon.pid}` : "not running",
          w && !isErr(w) && w.lastPass ? `last pass ${w.lastPass.started}` : "no pass yet",
        ),
        card(
          "automation host",
          !isErr(a) && a.host ? `running pid ${a.host.pid}` : "not running",
          !isErr(a) && a.host ? `since ${a.host.since}` : "",
        ),
        card("alerts", String(hv.alerts.length), "WARNING and worse", "alert-count"),
      ),
    );
    el.append(
      h("h2", {}, `Watchdog's last pass${hv.checks ? ` (${iso(hv.checks.at)})` : ""}`),
      panel(
        w && !isErr(w) && w.lastPass ? h("div", { class: "muted" }, w.lastPass.summary ?? "") : null,
        table(
          [
            { t: "check", f: (c) => c.name },
            { t: "status", f: (c) => tag(c.status) },
            { t: "detail", msg: 1, f: (c) => c.detail },
          ],
          hv.checks ? hv.checks.checks : [],
          "checks",
          "no watchdog pass recorded yet (capp watchdog run --once)",
        ),
      ),
      h("h2", {}, "Supervised processes"),
      panel(
        isErr(a)
          ? errBox(a)
          : table(
              [
                { t: "process", f: (p) => p.name },
                { t: "pid", num: 1, f: (p) => p.pid ?? "–" },
                { t: "state", f: (p) => tag(p.alive ? "ok" : "fail") },
                { t: "uptime", num: 1, f: (p) => (p.uptimeSec === null ? "–" : `${p.uptimeSec} s`) },
                { t: "restarts", num: 1, f: (p) => p.restarts },
                { t: "circuit", f: (p) => (p.circuitOpen ? tag("CRITICAL") : "closed") },
              ],
              a.processes,
              "processes",
              "no supervised process recorded",
            ),
      ),
      h("h2", {}, "Host jobs"),
      panel(
        isErr(a)
          ? errBox(a)
          : table(
              [
                { t: "job", f: (j) => j.name },
                { t: "interval", num: 1, f: (j) => (j.enabled ? `${j.intervalSec} s` : "disabled") },
                { t: "last run", f: (j) => (j.lastRun ? (j.lastRun.finished ?? j.lastRun.started) : "never") },
                {
                  t: "result",
                  f: (j) => (j.lastRun ? tag(j.lastRun.ok === false ? "FAIL" : j.lastRun.ok ? "ok" : "RUNNING") : ""),
                },
                { t: "summary", msg: 1, f: (j) => j.lastRun?.summary ?? "" },
                { t: "next run", f: (j) => j.nextRun ?? "–" },
              ],
              a.jobs,
              "jobs",
            ),
      ),
      h("h2", {}, "Alerts"),
      panel(
        table(
          [
            { t: "time", f: (x) => iso(x.ts) },
            { t: "severity", f: (x) => tag(x.severity) },
            { t: "process", f: (x) => x.process },
            { t: "message", msg: 1, f: (x) => x.message },
          ],
          hv.alerts,
          "alerts",
          "no alert",
        ),
      ),
    );
  }

  // ---------- routing and live updates
  function current() {
    const v = location.hash.replace("#", "");
    return VIEWS.includes(v) ? v : "trading";
  }
  function render() {
    const v = current();
    for (const name of VIEWS) {
      document.getElementById(`view-${name}`).classList.toggle("active", name === v);
      document.querySelector(`nav a[data-view="${name}"]`).classList.toggle("active", name === v);
    }
    if (!snap) return;
    const el = document.getElementById(`view-${v}`);
    if (v === "trading") renderTrading(el, snap.trading);
    else if (v === "ensemble") renderEnsemble(el, snap.ensemble);
    else if (v === "study") renderStudy(el, snap.study);
    else renderHealth(el, snap.health);
    document.getElementById("footer").textContent =
      `workspace ${snap.workspace} · snapshot ${iso(snap.at)} UTC · read-only`;
    document.body.dataset.snapshotAt = String(snap.at);
  }
  function setLive(on, text) {
    const el = document.getElementById("live");
    el.className = `live ${on ? "on" : "off"}`;
    el.textContent = text;
  }
  function accept(json) {
    snap = JSON.parse(json);
    setLive(true, `live · ${iso(snap.at)}`);
    render();
  }
  window.addEventListener("hashchange", render);
  window.addEventListener("resize", () => {
    render();
  });
  if (window.EventSource) {
    const es = new EventSource("/api/events");
    es.addEventListener("snapshot", (e) => accept(e.data));
    es.onerror = () => setLive(false, "reconnecting…");
  } else {
    const poll = () =>
      fetch("/api/snapshot")
        .then((r) => r.text())
        .then(accept)
        .catch(() => setLive(false, "offline"))
        .finally(() => setTimeout(poll, 3000));
    poll();
  }
  render();
})();
