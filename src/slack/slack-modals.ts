import type { WebClient } from '@slack/web-api';
import type { ModalForm, ModalOpener } from '../jobs/ports.js';

/** A form described in plain terms, opened as a Slack modal (views.open). */
export class SlackModalOpener implements ModalOpener {
  constructor(private readonly client: WebClient) {}

  async open(triggerId: string, form: ModalForm): Promise<void> {
    await this.client.views.open({
      trigger_id: triggerId,
      view: {
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
            initial_value: field.initial,
          },
        })),
      },
    });
  }
}
