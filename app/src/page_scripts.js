// Hydrates the page once it has been painted, in place of Leptos's hydration script: the page's
// WASM does not compete with its HTML and stylesheet for the first paint, and on a slow
// connection the person sees the page sooner. Called with the entry point's JS, the main WASM
// module and the page's texts in its language (`PageScripts` in app/src/lib.rs).
((script, wasm, texts) => {
	// WebAuthn's two ceremonies for the WASM (`browser::passkey`): the server's options in (JSON,
	// binary fields in base64url), the credential out as JSON the server reads.
	const bytes = (text) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
	const base64url = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/[+]/g, "-").replace(/[/]/g, "_").replace(/=+$/, "");
	window.passkeyCeremony = async (kind, json) => {
		const { publicKey: options, mediation } = JSON.parse(json);
		options.challenge = bytes(options.challenge);
		if (options.user) options.user.id = bytes(options.user.id);
		for (const known of [...(options.excludeCredentials ?? []), ...(options.allowCredentials ?? [])]) {
			known.id = bytes(known.id);
		}
		const credential = await navigator.credentials[kind](mediation ? { publicKey: options, mediation } : { publicKey: options });
		const answer = credential.response;
		const response = { clientDataJSON: base64url(answer.clientDataJSON) };
		if (kind === "create") {
			response.attestationObject = base64url(answer.attestationObject);
			response.transports = answer.getTransports?.() ?? [];
		} else {
			response.authenticatorData = base64url(answer.authenticatorData);
			response.signature = base64url(answer.signature);
			response.userHandle = answer.userHandle ? base64url(answer.userHandle) : null;
		}
		return JSON.stringify({ id: credential.id, rawId: base64url(credential.rawId), type: credential.type, response, extensions: {} });
	};
	const start = () => {
		// The WASM files of the page's own group (app/src/pages/mod.rs) download alongside the
		// main module; the router finds them loaded when the page hydrates.
		const files = document.querySelector("[data-page-code]")?.dataset.preload ?? "";
		for (const href of [wasm, ...files.split(" ").filter(Boolean)]) {
			const link = document.createElement("link");
			link.rel = "preload";
			link.as = "fetch";
			link.type = "application/wasm";
			link.crossOrigin = "";
			link.href = href;
			document.head.append(link);
		}
		// The texts come alongside; without them the page stays as the server rendered it.
		const strings = fetch(texts).then((response) => response.json());
		import(script).then(async (entry) => {
			await entry.default({ module_or_path: wasm });
			entry.hydrate(await strings);
		});
	};
	// A frame's callbacks run just before it is painted; a task queued from one runs after. A
	// page opened in a background tab paints nothing until shown: it starts at once.
	if (document.visibilityState === "hidden") {
		start();
	} else {
		requestAnimationFrame(() => setTimeout(start));
	}
})
