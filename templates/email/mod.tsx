import { ActionLink, EmailLayout } from "./layout.tsx";

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
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
};

export type EmailTemplateName = keyof typeof emailTemplates;
export type EmailData<T extends EmailTemplateName> = Parameters<
  (typeof emailTemplates)[T]
>[0];
