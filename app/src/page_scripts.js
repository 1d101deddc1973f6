// Hydrates the page once it has been painted, in place of Leptos's hydration script: the page's
// WASM does not compete with its HTML and stylesheet for the first paint, and on a slow
// connection the person sees the page sooner. Called with the entry point's JS and the main WASM
// module (`PageScripts` in app/src/lib.rs).
((script, wasm) => {
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
		import(script).then(async (entry) => {
			await entry.default({ module_or_path: wasm });
			entry.hydrate();
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
