import { Page } from "./layout.tsx";

export function VerifyEmailResult(props: { ok: boolean; message: string }) {
  return (
    <Page title={props.ok ? "Email verified" : "Link not valid"}>
      <h1 class={props.ok ? "ok" : "bad"}>
        {props.ok ? "Email verified" : "This link does not work"}
      </h1>
      <p>{props.message}</p>
      {props.ok
        ? <p>You can now sign in.</p>
        : <p>Ask for a new verification email from the sign-in screen.</p>}
    </Page>
  );
}

export function ResetPasswordForm(
  props: { action: string; error?: string | undefined; minLength: number },
) {
  return (
    <Page title="Choose a new password">
      <h1>Choose a new password</h1>
      {props.error ? <p class="error" role="alert">{props.error}</p> : null}
      <form method="post" action={props.action}>
        <label for="password">New password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="new-password"
          minlength={props.minLength}
          required
        />
        <label for="confirm">Repeat it</label>
        <input
          id="confirm"
          name="confirm"
          type="password"
          autocomplete="new-password"
          required
        />
        <button type="submit">Set password</button>
      </form>
    </Page>
  );
}

export function ResetPasswordResult(props: { ok: boolean; message: string }) {
  return (
    <Page title={props.ok ? "Password changed" : "Link not valid"}>
      <h1 class={props.ok ? "ok" : "bad"}>
        {props.ok ? "Password changed" : "This link does not work"}
      </h1>
      <p>{props.message}</p>
    </Page>
  );
}
