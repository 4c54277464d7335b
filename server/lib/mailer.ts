import nodemailer from "nodemailer";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** The one module that talks SMTP. Absent when `SMTP_URL` is not set. */
export interface MailTransport {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

export function createSmtpTransport(
  smtpUrl: string,
  from: string,
): MailTransport {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    async send(message) {
      await transport.sendMail({ from, ...message });
    },
    close: () => transport.close(),
  };
}
