import { defineAction, isRecordId } from '../jobs/actions.js';
import type { ReplyAction } from '../jobs/ports.js';
import type { RequestMode } from './build-context.js';

/** "Treat as a question / change request" on the status line. Value `jobId:mode`. */
export const modeSwitchAction = defineAction({
  id: 'mode_switch',
  encode: ({ jobId, mode }: { jobId: string; mode: RequestMode }) => `${jobId}:${mode}`,
  decode: (raw): { jobId: string; mode: RequestMode } | undefined => {
    const [jobId = '', mode, ...rest] = raw.split(':');
    if (rest.length > 0 || !isRecordId(jobId)) return undefined;
    return mode === 'change' || mode === 'question' ? { jobId, mode } : undefined;
  },
});

export const modeSwitchButton = (jobId: string, mode: RequestMode): ReplyAction =>
  modeSwitchAction.button(
    { jobId, mode },
    mode === 'change' ? 'Treat as a change request' : 'Treat as a question',
  );
