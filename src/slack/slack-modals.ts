import type { View, WebClient } from '@slack/web-api';
import type { ModalForm } from '../jobs/ports.js';

/** An open modal whose content can still change (views.update), e.g. once slow work finished. */
export interface OpenedSlackModal {
  readonly viewId: string | undefined;
  update(form: ModalForm): Promise<void>;
}

/**
 * A form described in plain terms, opened as a Slack modal (views.open) and updated in place
 * (views.update). A click's trigger_id is good for 3 seconds ("Pass a valid trigger_id within 3
 * seconds of receiving it", https://docs.slack.dev/tools/bolt-js/concepts/creating-modals), so
 * callers open at once with what they know and update the open view afterwards.
 */
export class SlackModalOpener {
  constructor(private readonly client: WebClient) {}

  async open(triggerId: string, form: ModalForm): Promise<OpenedSlackModal> {
    const result = await this.client.views.open({ trigger_id: triggerId, view: modalView(form) });
    const viewId = result.view?.id;
    let hash = result.view?.hash;
    return {
      viewId,
      update: async (next) => {
        if (!viewId) return;
        // Same block_id/action_id pairs keep what the person already typed; the hash refuses an
        // update over a newer one ("Preserving input entry", https://docs.slack.dev/reference/methods/views.update).
        const updated = await this.client.views.update({
          view_id: viewId,
          ...(hash ? { hash } : {}),
          view: modalView(next),
        });
        hash = updated.view?.hash ?? hash;
      },
    };
  }
}

/**
 * The modal view object (https://docs.slack.dev/reference/views/modal-views): title, submit and
 * close are plain_text of at most 24 characters, input labels at most 2,000
 * (https://docs.slack.dev/reference/block-kit/blocks/input-block).
 */
function modalView(form: ModalForm): View {
  return {
    type: 'modal',
    callback_id: form.callbackId,
    private_metadata: form.privateMetadata,
    title: { type: 'plain_text', text: form.title.slice(0, 24) },
    submit: { type: 'plain_text', text: (form.submitLabel ?? 'Save').slice(0, 24) },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: form.fields.map((field) => ({
      type: 'input',
      block_id: field.id,
      optional: field.optional ?? false,
      label: { type: 'plain_text', text: field.label.slice(0, 2000) },
      element: {
        type: 'plain_text_input',
        action_id: field.id,
        multiline: field.multiline,
        ...(field.initial ? { initial_value: field.initial } : {}),
      },
    })),
  };
}
