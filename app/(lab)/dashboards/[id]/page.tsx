import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { serverCaller } from "@/app/_lib/server";
import { DashboardPage } from "./DashboardPage";

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  const { id } = await params;
  const d = uuid.test(id) ? await (await serverCaller()).dashboards.get({ id }).catch(() => null) : null;
  return { title: d ? d.title : "Dashboard" };
}

export default async function Page({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<{ edit?: string }> }) {
  const { id } = await params;
  if (!uuid.test(id)) notFound();
  return <DashboardPage id={id} startEditing={(await searchParams).edit === "1"} />;
}
