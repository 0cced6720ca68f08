// ledgerlearn dashboard: plain JavaScript over the gateway's REST API and its event stream.
// Nothing is loaded from outside the gateway.
"use strict";

const $ = (sel) => document.querySelector(sel);
const short = (h) => (h ? h.slice(0, 10) + "…" : "");
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const fmt = (x, d = 3) => (x === null || x === undefined ? "–" : Number(x).toFixed(d));

async function api(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.message || response.statusText);
  return body;
}

const state = { taskId: null, round: null, names: {}, relayer: null, timelock: null };

function name(address) {
  return state.names[address] || short(address);
}

// ---- health, members, tasks -------------------------------------------------------------
async function loadHealth() {
  try {
    const response = await fetch("/health");
    const h = await response.json();
    const c = h.chain.detail, i = h.ipfs.detail;
    $("#health").textContent =
      `chain ${c.chain_id ?? "?"} · block ${c.block ?? "?"} · IPFS ${i.connected_peers ?? 0} peers · ` +
      `index at ${h.index.detail.last_block} · keeper ${h.orchestration.detail.active ? "on" : "off"}` +
      (h.status === "ok" ? "" : " · DEGRADED");
  } catch (e) {
    $("#health").textContent = "gateway unreachable";
  }
}

async function loadMembers() {
  const page = await api("/members?limit=500");
  const rows = page.items.map((m) => {
    const role = m.roles.filter((r) => r !== "ADMIN")[0] || (m.roles[0] || "");
    return { ...m, role };
  });
  const counters = {};
  for (const m of rows) {
    if (m.account === state.relayer) {  // this gateway's own account: it relays and keeps rounds
      state.names[m.account] = "gateway";
      continue;
    }
    if (m.account === state.timelock) {  // the Consortium's admin: what the council decides
      state.names[m.account] = "council (timelock)";
      continue;
    }
    const r = m.role.toLowerCase() || "member";
    counters[r] = (counters[r] || 0);
    state.names[m.account] = `${r}-${counters[r]++}`;
  }
  $("#members").innerHTML =
    "<tr><th>member</th><th>roles</th></tr>" +
    rows.map((m) => `<tr><td class="mono" title="${esc(m.account)}">${esc(name(m.account))}<br>${esc(short(m.account))}</td>` +
      `<td>${esc(m.roles.join(", ") || "(revoked)")}${m.registered ? "" : " <span class=muted>(unregistered)</span>"}</td></tr>`).join("");
}

async function loadTasks() {
  const page = await api("/tasks?limit=200");
  const list = $("#task-list");
  if (!page.items.length) {
    list.innerHTML = '<li class="muted">no task published yet</li>';
    return;
  }
  list.innerHTML = page.items.map((t) =>
    `<li><a href="#/tasks/${t.task_id}" data-task="${t.task_id}" class="${t.task_id === state.taskId ? "active" : ""}">` +
    `Task ${t.task_id} ${stageBadge(t)}` +
    `<small>${esc(t.flow)} · ${esc(t.metric)} · ${progressOf(t)} · ${t.accepted}/${t.updates} accepted</small></a></li>`).join("");
}

/** Where a task is: its round (federation) or its updates (dag); before it opens, its stage. */
function progressOf(t) {
  if (t.stage !== "open") return t.closed ? "never opened" : `${esc(t.stage)}: not open yet`;
  return t.flow === "federation" ? `round ${t.current_round}/${t.max_rounds}` : `${t.updates} updates`;
}

/** A task's state: drawing, vetting, open, closed, or rejected / expired at vetting. */
function stageBadge(t) {
  const word = t.stage === "open" ? (t.closed ? "closed" : "open") : t.stage;
  const kind = { open: "open", closed: "finalized", drawing: "waiting", vetting: "waiting" }[word] || "rejected";
  return `<span class="badge ${kind}">${esc(word)}</span>`;
}

// ---- the consortium: its council, and each task's vetting, reputation and reward -----------
const PROPOSAL_BADGE = { executed: "finalized", defeated: "rejected", canceled: "rejected", expired: "rejected" };
const TOKEN = 1e18;  // the reward token's units per token (18 decimals)

async function loadCouncil() {
  let c;
  try {
    c = await api("/council");
  } catch (e) {  // a laboratory deployment: no council governs it
    $("#council-panel").hidden = true;
    return;
  }
  const page = await api("/council/proposals?limit=20");
  $("#council-panel").hidden = false;
  state.timelock = c.timelock;
  const items = page.items.map((p) =>
    `<li data-proposal="${p.proposal_id}"><b>#${p.proposal_id}</b> ${esc(p.description)} ` +
    `<span class="badge ${PROPOSAL_BADGE[p.state] || "waiting"}">${esc(p.state)}</span>` +
    `<small>${p.votes_for} for · ${p.votes_against} against · ${p.votes_abstain} abstain · ` +
    `needs ${p.quorum} for</small></li>`).join("");
  $("#council").innerHTML =
    `<p class="muted">${c.members.length} member organisations, one vote each: a proposal passes ` +
    `with a majority of all members, then waits ${c.timelock_delay_s} s in the timelock.</p>` +
    (items ? `<ol id="proposals" class="proposals">${items}</ol>` : `<p class="muted">no proposal yet</p>`);
}

/** Vetting, reputation and reward of a task whose committee was drawn (a consortium task). */
async function governanceHtml(t) {
  if (!t.draw_size) return "";
  const id = t.task_id;
  const [v, rep, reward] = await Promise.all([
    api(`/tasks/${id}/vetting`),
    api(`/tasks/${id}/reputation`),
    // the split is owed from the close on (each share is a chain read: not on every event before)
    t.closed ? api(`/tasks/${id}/rewards`).catch(() => null) : null,  // null: none escrowed
  ]);
  const drawn = v.drawn_block === null
    ? `<p class="muted">Drawing: ${v.seeds_committed.length} pool members committed a seed, ${v.seeds_revealed.length} revealed.</p>`
    : `<p>Committee of ${v.committee.length} drawn at block ${v.drawn_block} from a pool of ${v.eligible.length} ` +
      `(${v.eligible.map((a) => esc(name(a))).join(", ")}) with the seed <span class="mono" title="${esc(v.seed)}">${esc(short(v.seed))}</span>, ` +
      `made of the seeds revealed by ${v.seeds_revealed.map((a) => esc(name(a))).join(", ") || "nobody"}` +
      `${v.withheld.length ? `; withheld by ${v.withheld.map((a) => esc(name(a))).join(", ")}` : ""}. ` +
      `Drawn: ${v.committee.map((a) => esc(name(a))).join(", ")}.</p>`;
  const votes = v.votes.map((x) =>
    `<tr><td class="mono">${esc(name(x.member))}</td><td><span class="badge ${x.approve ? "accepted" : "rejected"}">${x.approve ? "approve" : "reject"}</span></td>` +
    `<td>${esc(x.reason)}</td><td>${x.block}</td></tr>`).join("");
  let html = `<h3>Vetting</h3><div id="vetting">${drawn}` +
    (votes ? `<table><tr><th>member</th><th>vote</th><th>reason</th><th>block</th></tr>${votes}</table>` : `<p class="muted">no vote yet</p>`) +
    (v.outcome ? `<p>Outcome: ${stageBadge({ stage: v.outcome, closed: false })}</p>` : "") + `</div>`;
  const providers = rep.providers.map((p) =>
    `<tr><td class="mono">${esc(name(p.account))}</td><td>${p.accepted}</td><td>${p.rejected}</td><td>${p.expired}</td>` +
    `<td>${p.excluded_from.includes(id) ? '<span class="badge rejected">excluded</span>' : ""}</td></tr>`).join("");
  const validators = rep.validators.map((x) =>
    `<tr><td class="mono">${esc(name(x.account))}</td><td>${x.scored}</td><td>${x.agreed}${x.agreement === null ? "" : ` (${(100 * x.agreement).toFixed(0)}%)`}</td>` +
    `<td>${x.missed}</td><td>${x.late}</td><td>${x.unrevealed}</td><td>${x.votes}</td></tr>`).join("");
  html += `<h3>Reputation</h3><div id="reputation" class="columns">` +
    `<table><tr><th>provider</th><th>accepted</th><th>rejected</th><th>expired</th><th></th></tr>${providers}</table>` +
    `<table><tr><th>validator</th><th>scored</th><th>agreed</th><th>missed</th><th>late</th><th>unrevealed</th><th>votes</th></tr>${validators}</table></div>`;
  if (reward) {
    const shares = reward.shares.map((s) =>
      `<tr><td class="mono">${esc(name(s.account))}</td><td>${(s.withdrawn / TOKEN).toFixed(2)}</td><td>${(s.owed / TOKEN).toFixed(2)}</td></tr>`).join("");
    html += `<h3>Reward</h3><div id="rewards"><p>${(reward.amount / TOKEN).toFixed(2)} tokens escrowed: ` +
      `${reward.provider_share_bps / 100}% to the providers by accepted updates, the rest to the validators by ` +
      `agreeing scores (a validator against the decision more than ${reward.max_disagreement_bps / 100}% of the time earns nothing); ` +
      `${(reward.paid / TOKEN).toFixed(2)} paid out. Each earner withdraws its share after the task closed.</p>` +
      `<table><tr><th>account</th><th>withdrawn</th><th>owed</th></tr>${shares}</table></div>`;
  }
  return html;
}

// ---- one task ---------------------------------------------------------------------------
async function showTask(taskId, round) {
  state.taskId = taskId;
  state.round = round;
  const t = await api(`/tasks/${taskId}`);
  let html = `<h2>Task ${t.task_id} — ${esc(t.flow)}</h2>
    <div class="summary">
      <div><b>publisher</b><span class="mono">${esc(short(t.publisher))}</span></div>
      <div><b>metric</b>${esc(t.metric)}</div>
      <div><b>policy</b>${esc(t.threshold_mode)} ≥ ${fmt(t.threshold)}</div>
      <div><b>committee</b>k=${t.quorum} of ${t.committee.length}, f=${t.max_faulty_validators}</div>
      <div><b>aggregation</b>${esc(t.aggregation_rule)} (f=${t.num_byzantine})</div>
      <div><b>rounds</b>${t.flow === "federation" && t.current_round !== null ? `${t.current_round}/${t.max_rounds}` : "–"}</div>
      <div><b>providers</b>${t.providers}</div>
      <div><b>updates</b>${t.accepted} accepted of ${t.updates}</div>
      <div><b>state</b>${stageBadge(t)}</div>
      ${t.draw_size ? `<div><b>committee</b>drawn (${t.draw_size})</div>` : ""}
      ${t.commit_window ? `<div><b>scores</b>committed ${t.commit_window} blocks, then revealed</div>` : ""}
      ${t.max_rejections ? `<div><b>free riders</b>out after ${t.max_rejections} rejections${t.excluded.length ? ` (${t.excluded.length} excluded)` : ""}</div>` : ""}
    </div>`;
  const neverOpened = t.stage !== "open" && t.closed;  // rejected or expired at vetting
  if (neverOpened) {
    html += `<p id="never-opened" class="muted">This task never opened: its committee ${t.stage === "rejected" ? "rejected it" : "did not decide in time"}, so no provider could join it and nothing was trained.</p>`;
  } else if (t.flow === "federation") {
    const rounds = await api(`/tasks/${taskId}/rounds?limit=500`);
    html += `<h3>Rounds</h3><div class="timeline" id="timeline">` + rounds.items.map((r) => {
      const n = Math.max(r.submitted, 1);
      return `<a class="round-card ${r.round === round ? "active" : ""}" href="#/tasks/${taskId}/rounds/${r.round}" data-round="${r.round}">
        <b>Round ${r.round}</b> <span class="badge ${r.status}">${r.status}</span>
        <div class="bar"><span class="a" style="width:${100 * r.accepted / n}%"></span><span class="r" style="width:${100 * r.rejected / n}%"></span><span class="p" style="width:${100 * r.pending / n}%"></span></div>
        <small>${r.accepted} accepted · ${r.rejected} rejected${r.expired ? ` · ${r.expired} expired` : ""} · ${r.pending} pending${r.metric !== null ? `<br>${esc(t.metric)} ${fmt(r.metric)}` : ""}</small></a>`;
    }).join("") + `</div>`;
    html += `<div id="round-detail"></div>`;
  } else {
    html += `<h3>DAG</h3><div id="dag"></div><div id="consensus"></div>`;
  }
  if (!neverOpened) html += `<h3>Learning curve</h3><div id="curve"></div>`;
  html += await governanceHtml(t);
  html += `<h3>Committee</h3><table>${t.committee.map((v) => `<tr><td class="mono">${esc(name(v))}</td><td class="mono">${esc(v)}</td></tr>`).join("")}</table>`;
  $("#content").innerHTML = html;
  for (const a of document.querySelectorAll(".task-list a")) a.classList.toggle("active", Number(a.dataset.task) === taskId);
  if (neverOpened) return;
  if (t.flow === "federation" && round) await showRound(taskId, round, t);
  if (t.flow === "dag") {
    drawDag(await api(`/tasks/${taskId}/dag`));
    showConsensus(await api(`/tasks/${taskId}/model`));
  }
  drawCurve(await api(`/tasks/${taskId}/metrics`));
}

async function showRound(taskId, round, task) {
  const r = await api(`/tasks/${taskId}/rounds/${round}`);
  const validators = task.committee;
  const rows = r.updates.map((u) => {
    const byValidator = Object.fromEntries(u.scores.map((s) => [s.validator, s]));
    const cells = validators.map((v) => {
      const s = byValidator[v];
      if (!s) return `<td class="muted">–</td>`;
      const cls = s.invalid ? "invalid" : s.passed ? "pass" : "fail";
      return `<td><span class="score ${cls}">${s.invalid ? "invalid" : fmt(s.score)}</span></td>`;
    }).join("");
    return `<tr><td class="mono" title="${esc(u.update)}">${esc(short(u.update))}</td><td class="mono">${esc(name(u.provider))}</td>
      <td><span class="badge ${u.status}">${u.status}</span></td><td>${fmt(u.median_score)}</td>${cells}</tr>`;
  }).join("");
  const proposals = r.proposals.map((p) => `<li class="mono">${esc(short(p.result_hash))} by ${esc(name(p.proposer))}: ${p.attesters.length} attestations, ${p.cids.length} CID${p.cids.length === 1 ? "" : "s"}${p.result_hash === r.result_hash ? " ✔ final" : ""}</li>`).join("");
  const closed = r.closed_at_deadline ? (r.kept_base_model ? " — closed at the attestation deadline without a quorum: the base model was kept" : " — closed at the attestation deadline with its leading proposal") : "";
  $("#round-detail").innerHTML = `<h3 id="round-title">Round ${r.round} <span class="badge ${r.status}">${r.status}</span></h3>
    <p class="muted">blocks ${r.start_block}–${r.submissions_close_block} (submissions${r.status === "waiting" ? ", held open for more updates" : ""}), scoring until ${r.scoring_close_block} (updates short of a quorum: ${r.extended_scoring_close_block}), attestations until ${r.attestation_close_block}${r.finalized_block ? `, finalized at ${r.finalized_block}` : ""}${closed}</p>
    <table id="updates"><tr><th>update</th><th>provider</th><th>decision</th><th title="${esc(MEDIAN_RULE)}">median</th>${validators.map((v) => `<th class="mono">${esc(name(v))}</th>`).join("")}</tr>${rows || `<tr><td colspan="9" class="muted">no update yet</td></tr>`}</table>
    <p class="muted" id="median-rule">${esc(MEDIAN_RULE)}</p>
    <p><b>Aggregates proposed</b></p><ul>${proposals || "<li class=muted>none yet</li>"}</ul>`;
}

const MEDIAN_RULE = "How the committee decides: an update is accepted as soon as a quorum (k) of " +
  "the committee's scores clear the threshold. At the scoring deadline, with at least k scores, " +
  "the median counts, and of an even number of scores the lower middle one (of two scores, the " +
  "lower): more than f scores must clear the threshold, so f lying members cannot carry it.";

// ---- charts (SVG, drawn here) -----------------------------------------------------------
function drawCurve(curve) {
  const el = $("#curve");
  if (!curve.points.length) {
    el.innerHTML = `<p class="muted">${esc(curve.description)} — no point yet.</p>`;
    return;
  }
  const W = 560, H = 220, L = 48, B = 30, T = 12, R = 12;
  const xs = curve.points.map((p) => p.round), ys = curve.points.map((p) => p.value);
  const xmin = Math.min(...xs), xmax = Math.max(...xs, xmin + 1);
  let ymin = Math.min(...ys), ymax = Math.max(...ys);
  if (curve.source === "gateway" && curve.metric === "accuracy") { ymin = 0; ymax = 1; }
  if (ymax - ymin < 1e-9) { ymin -= 0.5; ymax += 0.5; }
  const X = (x) => L + (W - L - R) * (x - xmin) / (xmax - xmin);
  const Y = (y) => T + (H - T - B) * (1 - (y - ymin) / (ymax - ymin));
  const path = curve.points.map((p, i) => `${i ? "L" : "M"}${X(p.round).toFixed(1)},${Y(p.value).toFixed(1)}`).join("");
  let grid = "";
  for (let k = 0; k <= 4; k++) {
    const v = ymin + (ymax - ymin) * k / 4;
    grid += `<line x1="${L}" x2="${W - R}" y1="${Y(v)}" y2="${Y(v)}" stroke="#eee"/><text x="4" y="${Y(v) + 4}">${v.toFixed(2)}</text>`;
  }
  const tickXs = xs.length <= 12 ? xs : [...new Set(Array.from({ length: 6 }, (_, k) => xs[Math.round(k * (xs.length - 1) / 5)]))];
  const ticks = tickXs.map((x) => `<text x="${X(x) - 4}" y="${H - 10}">${x}</text>`).join("");
  const dots = curve.points.map((p) => `<circle cx="${X(p.round)}" cy="${Y(p.value)}" r="4" fill="#2d5be3"><title>${curve.axis} ${p.round}: ${p.value.toFixed(4)}</title></circle>`).join("");
  el.innerHTML = `<svg id="curve-svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${grid}${ticks}<path d="${path}" fill="none" stroke="#2d5be3" stroke-width="2"/>${dots}
    <text x="${W / 2 - 20}" y="${H}">${curve.axis}</text></svg><p class="muted">${esc(curve.description)}</p>`;
}

function showConsensus(m) {
  const tips = (m.tips || []).map((h) => `<span class="mono" title="${esc(h)}">${esc(short(h))}</span>`).join(", ");
  $("#consensus").innerHTML = `<p id="consensus-model"><b>Consensus model</b> <span class="mono" title="${esc(m.content_hash)}">${esc(short(m.content_hash))}</span>
    — ${esc(m.source)}${tips ? `; tips ${tips}` : ""} · <a href="${esc(m.download)}">download</a></p>`;
}

function drawDag(dag) {
  const el = $("#dag");
  const byId = Object.fromEntries(dag.nodes.map((n) => [n.id, n]));
  const depth = {};
  const parents = {};
  for (const e of dag.edges) (parents[e.child] = parents[e.child] || []).push(e.parent);
  const level = (id) => depth[id] ?? (depth[id] = (parents[id] || []).reduce((d, p) => Math.max(d, level(p) + 1), 0));
  dag.nodes.forEach((n) => level(n.id));
  const columns = {};
  for (const n of dag.nodes) (columns[depth[n.id]] = columns[depth[n.id]] || []).push(n.id);
  const pos = {};
  const W = 120, Hs = 46;
  let height = 60;
  for (const [d, ids] of Object.entries(columns)) ids.forEach((id, i) => { pos[id] = [30 + d * W, 30 + i * Hs]; height = Math.max(height, 60 + i * Hs); });
  const width = 60 + Object.keys(columns).length * W;
  const tips = new Set(dag.tips);
  const colour = { accepted: "#1f8a4c", rejected: "#c0392b", expired: "#7d5ba6", pending: "#b7791f" };
  const edges = dag.edges.map((e) => `<line x1="${pos[e.parent][0]}" y1="${pos[e.parent][1]}" x2="${pos[e.child][0]}" y2="${pos[e.child][1]}" stroke="#bbb"/>`).join("");
  const nodes = dag.nodes.map((n) => `<g><circle cx="${pos[n.id][0]}" cy="${pos[n.id][1]}" r="${tips.has(n.id) ? 10 : 7}" fill="${n.kind === "root" ? "#444" : colour[n.status]}" stroke="${tips.has(n.id) ? "#2d5be3" : "none"}" stroke-width="3"><title>${esc(n.id)} ${n.kind} ${n.status}${n.provider ? " by " + esc(name(n.provider)) : ""}</title></circle><text x="${pos[n.id][0] - 14}" y="${pos[n.id][1] + 22}">${esc(n.kind === "root" ? "root" : short(n.id).slice(2, 8))}</text></g>`).join("");
  el.innerHTML = `<svg id="dag-svg" width="${width}" height="${height}">${edges}${nodes}</svg>
    <p class="muted">${dag.nodes.length - 1} updates · tips (ringed): ${dag.tips.map(short).join(", ")}</p>`;
  void byId;
}

// ---- routing and live updates -----------------------------------------------------------
async function route() {
  const m = location.hash.match(/^#\/tasks\/(\d+)(?:\/rounds\/(\d+))?/);
  try {
    await loadFeed(m ? Number(m[1]) : null);
    if (m) await showTask(Number(m[1]), m[2] ? Number(m[2]) : null);
  } catch (e) {
    $("#content").innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

let refreshTimer = null;
function refreshSoon() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(async () => {
    refreshTimer = null;
    await Promise.all([loadTasks(), loadHealth(), loadCouncil().catch(() => {})]);
    if (state.taskId !== null) await route();
  }, 700);
}

// ---- contract events: the history (a page at a time), then live --------------------------
const EVENT_NAMES = ["TaskPublished", "TaskClosed", "ProviderJoined", "UpdateCommitted", "UpdateSubmitted",
  "ScoreSubmitted", "UpdateAccepted", "UpdateRejected", "UpdateExpired", "AggregateProposed", "AggregateCidAdded",
  "AggregateAttested", "RoundClosedAtDeadline", "RoundFinalized", "MemberRegistered", "RoleGranted", "RoleRevoked",
  "PublishNonceCancelled", "TaskStageChanged", "CommitteeDrawn", "CommitteeSeated", "VettingVoted",
  "VettingConcluded", "ScoreCommitted", "ScoreRevealed", "ScoreRevealedAfterDecision", "ProviderExcluded",
  "RewardFunded", "RewardWithdrawn", "MemberAdmitted", "MemberRemoved", "PoolJoined", "ProposalCreated",
  "ProposalExecuted"];
const feed = { task: null, oldest: null, seen: new Set() };

function eventItem(e) {
  const li = document.createElement("li");
  li.dataset.id = e.id;
  const task = e.args.task_id !== undefined ? ` task ${e.args.task_id}` : "";
  const round = e.args.round !== undefined ? ` r${e.args.round}` : "";
  const who = e.args.provider || e.args.validator || e.args.publisher || e.args.proposer || e.args.account ||
    e.args.member || e.args.organisation;
  li.innerHTML = `<b>${esc(e.name)}</b>${task}${round}${who ? ` <span class="mono">${esc(name(who))}</span>` : ""} <span class="muted">#${e.block_number}</span>`;
  return li;
}

function showEvent(e, live) {
  if (feed.seen.has(e.id)) return false;
  if (feed.task !== null && e.args.task_id !== feed.task) return false;
  feed.seen.add(e.id);
  if (live) $("#feed").prepend(eventItem(e));
  else $("#feed").append(eventItem(e));
  return true;
}

async function loadOlder() {
  const query = new URLSearchParams({ limit: "100" });
  if (feed.task !== null) query.set("task_id", String(feed.task));
  if (feed.oldest) query.set("before", feed.oldest);
  const task = feed.task;
  const page = await api(`/events/history?${query}`);
  if (task !== feed.task) return;  // another task was opened meanwhile
  for (const e of page.items) showEvent(e, false);
  feed.oldest = page.next_before;
  $("#feed-older").hidden = page.next_before === null;
  $("#feed-count").textContent = `${feed.seen.size} event${feed.seen.size === 1 ? "" : "s"}` +
    (page.next_before === null ? "" : ", older ones below");
}

async function loadFeed(task) {
  if (feed.task === task && feed.seen.size) return;
  feed.task = task;
  feed.oldest = null;
  feed.seen = new Set();
  $("#feed").innerHTML = "";
  $("#feed-title").textContent = task === null ? "Contract events" : `Task ${task} events`;
  await loadOlder();
}

async function listen() {
  // live from the newest event the gateway had when the page opened: no gap with the history
  const newest = await api("/events/history?limit=1").catch(() => ({ items: [] }));
  const since = newest.items.length ? `?since=${encodeURIComponent(newest.items[0].id)}` : "";
  const source = new EventSource(`/events${since}`);
  source.onopen = () => { $("#live").className = "live on"; };
  source.onerror = () => { $("#live").className = "live off"; };
  for (const n of EVENT_NAMES) {
    source.addEventListener(n, (message) => {
      const e = JSON.parse(message.data);
      showEvent(e, true);
      if (n === "MemberRegistered" || n.startsWith("Role")) loadMembers();
      refreshSoon();
    });
  }
}

window.addEventListener("hashchange", route);
(async () => {
  // before anything is awaited: the button shows with the first page of events, while the
  // task's view may still be loading
  $("#feed-older").addEventListener("click", () => loadOlder().catch(() => {}));
  await loadHealth();
  state.relayer = (await api("/info").catch(() => ({}))).relayer || null;
  await loadCouncil().catch(() => {});
  await loadMembers().catch(() => {});
  await loadTasks().catch((e) => { $("#task-list").innerHTML = `<li class="error">${esc(e.message)}</li>`; });
  await route();
  await listen();
  setInterval(loadHealth, 5000);
  // evaluations and consensus models change without a contract event: refresh now and then
  setInterval(() => { if (state.taskId !== null) refreshSoon(); }, 10000);
})();
