import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import { Providers } from "./trpc";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Crackdiff", template: "%s · Crackdiff" },
  description: "Unsupervised concrete-crack detection lab: diffusion teachers, lightweight students, one web UI.",
};

export const viewport: Viewport = {
  themeColor: [
    { media: "(prefers-color-scheme: light)", color: "#f7f8fa" },
    { media: "(prefers-color-scheme: dark)", color: "#0f1115" },
  ],
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
