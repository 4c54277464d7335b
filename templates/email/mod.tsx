import { formatMoney } from "../../server/lib/money.ts";
import { ActionLink, EmailLayout } from "./layout.tsx";

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/** A short notice: greeting, paragraphs, an optional link; the same words as HTML and as text. */
function notice(
  subject: string,
  name: string,
  paragraphs: string[],
  action?: { href: string; label: string },
): RenderedEmail {
  return {
    subject,
    html: "<!doctype html>" + (
      <EmailLayout title={subject}>
        <p>Hello {name},</p>
        {paragraphs.map((text, index) => <p key={index}>{text}</p>)}
        {action ? <ActionLink href={action.href} label={action.label} /> : ""}
      </EmailLayout>
    ),
    text: `Hello ${name},\n\n${paragraphs.join("\n\n")}\n${
      action ? `\n${action.label}: ${action.href}\n` : ""
    }`,
  };
}

/** Every email the platform sends: the data it needs and how it reads, as HTML and as text. */
export const emailTemplates = {
  verify_email(data: { name: string; link: string }): RenderedEmail {
    const subject = "Verify your email address";
    return {
      subject,
      html: "<!doctype html>" + (
        <EmailLayout title={subject}>
          <p>Hello {data.name},</p>
          <p>
            Confirm that this is your email address to finish creating your
            account. The link works once, for 24 hours.
          </p>
          <ActionLink href={data.link} label="Verify my email" />
          <p style="font-size: 13px;">
            Or paste this address into your browser: {data.link}
          </p>
        </EmailLayout>
      ),
      text:
        `Hello ${data.name},\n\nConfirm that this is your email address to finish creating your account. The link works once, for 24 hours:\n\n${data.link}\n`,
    };
  },

  reset_password(data: { name: string; link: string }): RenderedEmail {
    const subject = "Reset your password";
    return {
      subject,
      html: "<!doctype html>" + (
        <EmailLayout title={subject}>
          <p>Hello {data.name},</p>
          <p>
            Someone asked to reset the password of your account. The link works
            once, for one hour.
          </p>
          <ActionLink href={data.link} label="Choose a new password" />
          <p style="font-size: 13px;">
            Or paste this address into your browser: {data.link}
          </p>
          <p>
            If you did not ask for this, ignore this email: your password stays
            as it is.
          </p>
        </EmailLayout>
      ),
      text:
        `Hello ${data.name},\n\nSomeone asked to reset the password of your account. The link works once, for one hour:\n\n${data.link}\n\nIf you did not ask for this, ignore this email: your password stays as it is.\n`,
    };
  },

  password_changed(data: { name: string; supportUrl: string }): RenderedEmail {
    const subject = "Your password was changed";
    return {
      subject,
      html: "<!doctype html>" + (
        <EmailLayout title={subject}>
          <p>Hello {data.name},</p>
          <p>
            The password of your account was just changed and every device was
            signed out.
          </p>
          <p>
            If this was not you, reset your password at once: {data.supportUrl}
          </p>
        </EmailLayout>
      ),
      text:
        `Hello ${data.name},\n\nThe password of your account was just changed and every device was signed out.\n\nIf this was not you, reset your password at once: ${data.supportUrl}\n`,
    };
  },

  enrollment_confirmed(
    data: {
      name: string;
      program: string;
      access: string;
      link: string;
      /** The receipt line when the access was paid for. */
      paid?: string;
    },
  ): RenderedEmail {
    return notice(`You are enrolled in ${data.program}`, data.name, [
      ...(data.paid ? [data.paid] : []),
      `You now have ${data.access} access to "${data.program}". Your progress is saved as you go.`,
    ], { href: data.link, label: "Start learning" });
  },

  payment_failed(
    data: { name: string; program: string; reason: string },
  ): RenderedEmail {
    return notice("Your payment did not go through", data.name, [
      `The payment for "${data.program}" failed: ${data.reason}`,
      "Nothing was charged. You can try again with another card.",
    ]);
  },

  access_refunded(
    data: {
      name: string;
      program: string;
      amount: number;
      currency: string;
    },
  ): RenderedEmail {
    return notice(`Refund for ${data.program}`, data.name, [
      `Your payment of ${
        formatMoney(data.amount, data.currency)
      } for "${data.program}" was refunded, and the access it bought has ended.`,
      "Your progress is kept, in case you come back.",
    ]);
  },

  subscription_started(
    data: { name: string; plan: string; periodEnd: string; link: string },
  ): RenderedEmail {
    return notice(`Welcome to ${data.plan}`, data.name, [
      `Your ${data.plan} subscription is active. The current period runs until ${data.periodEnd} and renews automatically.`,
    ], { href: data.link, label: "See your subscription" });
  },

  subscription_canceled(
    data: { name: string; plan: string; accessUntil: string },
  ): RenderedEmail {
    return notice("Your subscription will end", data.name, [
      `Your ${data.plan} subscription was cancelled. You keep its benefits until ${data.accessUntil}; after that your account moves to the Free plan.`,
    ]);
  },

  certificate_issued(
    data: { name: string; program: string; code: string; verifyUrl: string },
  ): RenderedEmail {
    return notice(`Your certificate for ${data.program}`, data.name, [
      `Congratulations: you earned the certificate for "${data.program}".`,
      `Its verification code is ${data.code}. Anyone you show it to can check it at the link below; the PDF and a signed digital credential are in your account.`,
    ], { href: data.verifyUrl, label: "See your certificate" });
  },

  certificate_revoked(
    data: { name: string; program: string; code: string; reason: string },
  ): RenderedEmail {
    return notice(
      `Your certificate for ${data.program} was revoked`,
      data.name,
      [
        `The certificate ${data.code} for "${data.program}" has been revoked: ${data.reason}`,
        "Its verification page now says so. Reply to this email if you think this is a mistake.",
      ],
    );
  },

  certificate_reissued(
    data: {
      name: string;
      program: string;
      oldCode: string;
      code: string;
      verifyUrl: string;
    },
  ): RenderedEmail {
    return notice(`A new certificate for ${data.program}`, data.name, [
      `Your certificate for "${data.program}" was reissued with the code ${data.code}. The old code ${data.oldCode} now points to it.`,
    ], { href: data.verifyUrl, label: "See your certificate" });
  },

  backup_upload_failed(
    data: { name: string; file: string; destination: string; error: string },
  ): RenderedEmail {
    return notice("A backup could not be uploaded", data.name, [
      `The backup ${data.file} was written on the server, but uploading it to ${data.destination} failed: ${data.error}`,
      "The local copy is kept. Check the BACKUP_S3_* settings and the bucket, then run `deno task cli backup create` again.",
    ]);
  },

  /** Any notification without a template of its own: its title, its message, and its link. */
  notification(
    data: { name: string; title: string; message: string; link?: string },
  ): RenderedEmail {
    return notice(
      data.title,
      data.name,
      [data.message],
      data.link ? { href: data.link, label: "Open in Lectern" } : undefined,
    );
  },
};

export type EmailTemplateName = keyof typeof emailTemplates;
export type EmailData<T extends EmailTemplateName> = Parameters<
  (typeof emailTemplates)[T]
>[0];
