/**
 * What the Temporal Web UI shows at the top of a run: `staticSummary` (one line:
 * workflow name, trigger, a few key inputs such as the supplier) and
 * `staticDetails` (Markdown: definition version, the admin UI's run page).
 * Both are stored in the run's history (encrypted like every payload), so only
 * scalar inputs with telling names go in, never anything that looks secret.
 */
import type { WorkflowDefinition } from '@engine/dsl/types';

/** Input fields worth showing: what a run is about (supplier, marketplace, order...). */
const KEY_INPUT = /(supplier|marketplace|channel|source|warehouse|order|shop|store|sku|category|location)/i;
const SECRET_LIKE = /(secret|token|password|passwd|api[_-]?key|auth|credential|private)/i;
const MAX_FIELDS = 3;
const MAX_VALUE = 40;

/** Up to three `key=value` pairs of scalar key inputs, secrets left out. */
export function keyInputs(input: unknown): string[] {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
    if (out.length >= MAX_FIELDS) break;
    if (!KEY_INPUT.test(k) || SECRET_LIKE.test(k)) continue;
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') continue;
    const s = String(v).replace(/\s+/g, ' ');
    out.push(`${k}=${s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE - 1)}…` : s}`);
  }
  return out;
}

export interface RunMetadataInput {
  definition: Pick<WorkflowDefinition, 'name' | 'code' | 'version' | 'steps'>;
  executionId: string;
  trigger: string;
  input: unknown;
  /** Where operators reach the admin UI (MERCHFLOW_PUBLIC_URL), without a trailing slash. */
  publicUrl: string;
  restartedFrom?: string | null;
  scheduleId?: number | null;
}

export function runMetadata(m: RunMetadataInput): { staticSummary: string; staticDetails: string } {
  const inputs = keyInputs(m.input);
  const summary = [`${m.definition.name} · ${m.trigger}`, ...(inputs.length > 0 ? [inputs.join(', ')] : [])].join(' · ');
  const main = m.definition.steps.filter((s) => s.role === 'main');
  const details = [
    `**Workflow:** ${m.definition.name} (\`${m.definition.code}\`), version ${m.definition.version}`,
    `**Steps:** ${main.slice(0, 20).map((s) => s.name).join(' → ')}${main.length > 20 ? ` → … (${main.length} in all)` : ''}`,
    `**Trigger:** ${m.trigger}${m.scheduleId ? ` (schedule ${m.scheduleId})` : ''}${m.restartedFrom ? `, restarted from \`${m.restartedFrom}\`` : ''}`,
    ...(m.executionId ? [`**Admin UI:** [run ${m.executionId}](${m.publicUrl}/orchestration/admin/#/executions/${encodeURIComponent(m.executionId)})`] : []),
  ];
  return { staticSummary: summary.slice(0, 200), staticDetails: details.join('\n\n') };
}
